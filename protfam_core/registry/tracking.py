"""MLflow for every `train` command and for the model registry: runs, metrics, registered versions, aliases.

Store: `PROTFAM_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else an embedded sqlite file at
`$XDG_DATA_HOME/protfam/mlflow.db` (`~/.local/share/protfam/mlflow.db`) with artifacts in `mlartifacts/` beside it.
Artifact locations are set explicitly for sqlite stores (MLflow's default is relative to the working directory); a
tracking server decides its own. mlflow is imported inside functions only, so inference tools start fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protfam_core.errors import ModelError
from protfam_core.registry.versions import pick_version

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from protfam_core.registry.bundles import Bundle

TAG_PREFIX = "protfam."
BUNDLE_ARTIFACT = "bundle"


def data_home() -> Path:
    """The per-user data folder (XDG): where the embedded MLflow store lives."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "protfam"


def cache_home() -> Path:
    """The per-user cache folder (XDG): where models downloaded from an MLflow registry are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "protfam"


def default_store_path() -> Path:
    """The embedded sqlite store used when no tracking URI is configured."""
    return data_home() / "mlflow.db"


def env_tracking_uri() -> str | None:
    """The tracking URI the user configured, if any (PROTFAM_TRACKING_URI wins over MLFLOW_TRACKING_URI)."""
    return os.environ.get("PROTFAM_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI") or None


def tracking_uri() -> str:
    """The store every train command logs to: the configured URI or the embedded sqlite file."""
    return env_tracking_uri() or f"sqlite:///{default_store_path()}"


def existing_tracking_uri() -> str | None:
    """A store to look models up in without creating one: the configured URI, or the embedded file if it exists."""
    return env_tracking_uri() or (f"sqlite:///{default_store_path()}" if default_store_path().is_file() else None)


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite URI (sqlite:///relative or sqlite:////absolute), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :]).expanduser().resolve()


def artifact_root(uri: str) -> str | None:
    """Where run artifacts go for this store: `mlartifacts/` beside a sqlite file; None lets a server decide."""
    db = _sqlite_path(uri)
    return (db.parent / "mlartifacts").as_uri() if db is not None else None


def tool_versions() -> dict[str, str]:
    """Versions of the software that made a model, for the run's tags and the model card."""
    from importlib import metadata  # here: importing it costs inference tools 20 ms of start-up

    versions = {"python": platform.python_version()}
    for dist in ("protfam", "torch", "onnxruntime", "onnx", "mlflow", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


# MLflow retries an unreachable server for minutes by default; a command-line tool should fail within seconds.
# Users' own MLFLOW_HTTP_REQUEST_* settings win.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def _quiet_mlflow() -> None:
    """Silence alembic/MLflow INFO chatter (database migrations) that would pollute tool stderr."""
    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


def client(uri: str | None = None) -> MlflowClient:
    """An MlflowClient for tracking and registry on the same store (no global MLflow state is touched)."""
    from mlflow import MlflowClient

    _quiet_mlflow()  # after the import: importing mlflow (re)configures its loggers

    uri = uri or tracking_uri()
    for key, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    db = _sqlite_path(uri)
    if db is not None:
        if db.is_dir():  # SQLAlchemy would retry opening it for minutes
            raise ModelError(f"cannot open MLflow store {uri}: {db} is a folder, not a database file")
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    except Exception as exc:
        raise ModelError(f"cannot open MLflow store {uri}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if "Max retries exceeded" in text or "Connection refused" in text:
        return "the server cannot be reached"
    return text.splitlines()[0] if text else type(exc).__name__


def experiment_id(mlflow_client: MlflowClient, name: str) -> str:
    """The id of experiment `name`, created with an explicit artifact location when missing."""
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = artifact_root(mlflow_client.tracking_uri)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return mlflow_client.create_experiment(name, artifact_location=f"{root}/{safe}" if root else None)


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameter dicts as dotted MLflow params; lists and other values as JSON/text."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list | tuple):
            flat[f"{prefix}{key}"] = json.dumps(list(value))[:6000]
        else:
            flat[f"{prefix}{key}"] = str(value)[:6000]
    return flat


@dataclass
class TrainingRun:
    """One MLflow run of a train command: per-epoch metrics and the exported bundle."""

    client: MlflowClient
    run_id: str
    experiment: str

    @property
    def uri(self) -> str:
        return self.client.tracking_uri

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Record one epoch's metrics (MLflow step = epoch)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(key, float(value), now, int(epoch)) for key, value in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def log_bundle(self, bundle_folder: str | Path) -> str:
        """Log a bundle folder as the run's artifacts and register it as a new version; return that version."""
        from protfam_core.registry.bundles import Bundle

        bundle = Bundle.load(bundle_folder)
        bundle.verify()
        finals = {f"final.{k}": float(v) for k, v in bundle.card.get("metrics", {}).items() if _is_number(v)}
        if finals:
            self.log_epoch(0, finals)
        return register_bundle(self.client, bundle, self.run_id)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@contextmanager
def training_run(experiment: str, params: dict, dataset_checksum: str | None) -> Iterator[TrainingRun]:
    """An MLflow run with params, the dataset checksum and tool versions; FAILED if the body raises."""
    from mlflow.entities import Param

    mlflow_client = client()
    tags = {f"{TAG_PREFIX}version.{k}": v for k, v in tool_versions().items()}
    flat = _flatten(params)
    if dataset_checksum:
        tags[f"{TAG_PREFIX}dataset_checksum"] = flat["dataset_checksum"] = dataset_checksum
    items = [Param(k, v) for k, v in flat.items()]
    with store_errors(mlflow_client, f"starting a {experiment!r} run"):  # fail before any training starts
        run = mlflow_client.create_run(experiment_id(mlflow_client, experiment), tags=tags)
        for start in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            mlflow_client.log_batch(run.info.run_id, params=items[start : start + 100])
    status = "FAILED"
    try:
        yield TrainingRun(mlflow_client, run.info.run_id, experiment)
        status = "FINISHED"
    finally:
        mlflow_client.set_terminated(run.info.run_id, status=status)


def register_bundle(mlflow_client: MlflowClient, bundle: Bundle, run_id: str) -> str:
    """Log a verified bundle under the run's `bundle/<name>/` artifacts and register a model version; return it.

    One run may log several bundles (the CNN and its frames), hence one artifact folder per bundle name.
    """
    artifact_path = f"{BUNDLE_ARTIFACT}/{bundle.name}"
    mlflow_client.log_artifacts(run_id, str(bundle.path), artifact_path)
    if not has_model(mlflow_client, bundle.name):
        mlflow_client.create_registered_model(bundle.name, tags={f"{TAG_PREFIX}kind": bundle.kind})
    tags = {
        f"{TAG_PREFIX}kind": bundle.kind,
        f"{TAG_PREFIX}model_json_sha256": bundle.card_sha256(),
        f"{TAG_PREFIX}bundle_version": bundle.version,
    }
    version = mlflow_client.create_model_version(
        bundle.name, f"runs:/{run_id}/{artifact_path}", run_id=run_id, tags=tags
    )
    return str(version.version)


def _registry_error(exc: Exception, what: str, uri: str) -> ModelError:
    return ModelError(f"MLflow store at {uri}: {what}: {_first_line(exc)}")


@contextmanager
def store_errors(mlflow_client: MlflowClient, what: str) -> Iterator[None]:
    """Turn MLflow/connection failures inside the block into one-line ModelErrors naming the store."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (MlflowException, OSError) as exc:
        raise _registry_error(exc, what, mlflow_client.tracking_uri) from exc


def has_model(mlflow_client: MlflowClient, name: str) -> bool:
    """Whether `name` is a registered model in this store (ModelError if the store cannot be asked)."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(name)
        return True
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise _registry_error(exc, f"looking up {name!r}", mlflow_client.tracking_uri) from exc
    except Exception as exc:  # connection refused, bad URI scheme, ...
        raise _registry_error(exc, f"looking up {name!r}", mlflow_client.tracking_uri) from exc


def model_versions(mlflow_client: MlflowClient, name: str) -> list[str]:
    """All version numbers of a registered model, oldest first."""
    found = mlflow_client.search_model_versions(f"name='{name}'")
    return sorted((str(v.version) for v in found), key=int)


def aliases(mlflow_client: MlflowClient, name: str) -> dict[str, str]:
    """alias -> version of a registered model."""
    return {k: str(v) for k, v in mlflow_client.get_registered_model(name).aliases.items()}


def find_version(mlflow_client: MlflowClient, name: str, alias: str | None, version: str | None) -> str:
    """The version an alias or explicit version names in the MLflow registry (the shipped registry's policy)."""
    where = f"the MLflow registry at {mlflow_client.tracking_uri}"
    return pick_version(name, aliases(mlflow_client, name), model_versions(mlflow_client, name), alias, version, where)


def set_alias(mlflow_client: MlflowClient, name: str, version: str, alias: str) -> None:
    """Point `alias` at `version` (moving it if it pointed elsewhere)."""
    find_version(mlflow_client, name, None, version)
    mlflow_client.set_registered_model_alias(name, alias, version)


def version_tags(mlflow_client: MlflowClient, name: str, version: str) -> dict[str, str]:
    """Tags of one model version (kind, model.json sha256, bundle version)."""
    return dict(mlflow_client.get_model_version(name, version).tags)


def download_version(mlflow_client: MlflowClient, name: str, version: str) -> Path:
    """A local copy of a registered version's bundle in the cache folder, fetched again unless it verifies."""
    import shutil

    from mlflow.artifacts import download_artifacts

    from protfam_core.io.atomic import atomic_dir
    from protfam_core.registry.bundles import Bundle

    uri = mlflow_client.tracking_uri
    store_key = hashlib.sha256(uri.encode()).hexdigest()[:12]
    dest = cache_home() / "models" / store_key / name / version
    expected = version_tags(mlflow_client, name, version).get(f"{TAG_PREFIX}model_json_sha256")
    if _intact(dest, expected):
        return dest
    source = mlflow_client.get_model_version_download_uri(name, version)
    with atomic_dir(dest) as staged:
        download = staged / ".download"  # MLflow writes the artifact folder inside the folder it is given
        try:
            got = Path(download_artifacts(artifact_uri=source, dst_path=str(download), tracking_uri=uri))
        except Exception as exc:
            raise _registry_error(exc, f"downloading {name}/{version}", uri) from exc
        if expected and _card_sha(got) != expected:
            raise ModelError(
                f"model {name}/{version} in the MLflow registry at {uri} is tampered: its model.json differs "
                "from the sha256 recorded at registration"
            )
        Bundle.load(got, version=version).verify()  # never cache a bundle whose artifacts do not match its card
        for entry in got.iterdir():
            entry.replace(staged / entry.name)
        shutil.rmtree(download)
    return dest


def _intact(folder: Path, expected_card_sha: str | None) -> bool:
    """Whether a cached bundle still matches the registered card sha256 and its own artifact sha256s."""
    from protfam_core.registry.bundles import Bundle

    if not folder.is_dir() or (expected_card_sha and _card_sha(folder) != expected_card_sha):
        return False
    try:
        Bundle.load(folder).verify()
    except ModelError:
        return False
    return True


def _card_sha(folder: Path) -> str | None:
    from protfam_core.io.atomic import sha256_file

    card = folder / "model.json"
    return sha256_file(card) if card.is_file() else None


def list_versions(mlflow_client: MlflowClient) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(name, version, kind, aliases) of every registered model version in the store."""
    rows = []
    for model in mlflow_client.search_registered_models():
        by_version: dict[str, list[str]] = {}
        for alias, version in model.aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for version in model_versions(mlflow_client, model.name):
            kind = version_tags(mlflow_client, model.name, version).get(f"{TAG_PREFIX}kind", "?")
            rows.append((model.name, version, kind, tuple(sorted(by_version.get(version, [])))))
    return sorted(rows, key=lambda r: (r[0], int(r[1])))


def import_bundle(mlflow_client: MlflowClient, bundle: Bundle, origin: str) -> tuple[str, str]:
    """Register a bundle in the store unless an identical one is there; return (store version, status)."""
    sha = bundle.card_sha256()
    if has_model(mlflow_client, bundle.name):
        for found in mlflow_client.search_model_versions(f"name='{bundle.name}'"):
            if found.tags.get(f"{TAG_PREFIX}model_json_sha256") == sha:
                return str(found.version), "present"
    exp_id = experiment_id(mlflow_client, "protfam-import")
    tags = {f"{TAG_PREFIX}imported_from": origin, "mlflow.runName": f"import {bundle.ref}"}
    run = mlflow_client.create_run(exp_id, tags=tags)
    try:
        version = register_bundle(mlflow_client, bundle, run.info.run_id)
    except Exception:
        mlflow_client.set_terminated(run.info.run_id, status="FAILED")
        raise
    mlflow_client.set_terminated(run.info.run_id)
    return version, "imported"
