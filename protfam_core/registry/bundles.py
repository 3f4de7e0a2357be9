"""Model bundles and where they come from: the shipped `registry/` folder, an MLflow registry, or a bundle folder.

A bundle is a folder with `model.json` (the model card: name, version, kind, files with sha256, params, metrics,
data checksum, versions) and its artifact files. Every artifact is sha256-verified before use. The shipped registry
(`registry/manifest.json` + `registry/<name>/<version>/`) gives each tool its default model with no store and no
network; `name@alias` and `name/version` are also looked up in the MLflow registry (`protfam_core.registry.tracking`).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import protfam_core
from protfam_core.errors import InputError, ModelError, VersionNotFound
from protfam_core.io.atomic import atomic_dir, sha256_file, write_text
from protfam_core.registry import tracking
from protfam_core.registry.onnx_runtime import OnnxModel
from protfam_core.registry.versions import CHAMPION, next_version, pick_version, version_key

KINDS = ("ss", "vae", "cnn", "frames", "index", "fast")
CARD = "model.json"
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_card(card_path: Path, card: dict) -> None:
    """The fields every bundle reads have their types, and every artifact path stays inside the bundle: a card
    naming '../x' or '/etc/x' is refused, not followed."""
    for key in ("name", "kind"):
        if not isinstance(card[key], str) or not card[key]:
            raise ModelError(f"malformed model card {card_path}: {key!r} is not a name")
    if not isinstance(card["version"], str | int) or isinstance(card["version"], bool):
        raise ModelError(f"malformed model card {card_path}: 'version' is not a version")
    for role, entry in card["files"].items():
        if not (
            isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("sha256"), str)
        ):
            raise ModelError(f"malformed model card {card_path}: file {role!r} needs a path and a sha256")
        parts = Path(entry["path"]).parts
        if not parts or Path(entry["path"]).is_absolute() or ".." in parts:
            raise ModelError(f"model card {card_path}: artifact {role!r} points outside the bundle ({entry['path']})")
    for key in _REQUIRED.get(card["kind"], ()):
        if key not in card:
            raise ModelError(f"malformed model card {card_path}: a {card['kind']} card needs {key!r}")
    for key, (ok, what) in _FIELDS.items():
        if key in card and not ok(card[key]):
            raise ModelError(f"malformed model card {card_path}: {key!r} is not {what}")


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and not math.isnan(x)


def _count(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def _names(x: object) -> bool:
    return isinstance(x, list) and bool(x) and all(isinstance(n, str) and n for n in x)


# What the tools read from a card, by type: a card that breaks one is refused where it is loaded, naming the field.
_REQUIRED = {"cnn": ("families",), "frames": ("families",), "vae": ("width",), "fast": ("families",)}
_FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "families": (_names, "a non-empty list of family names"),
    "threshold": (_number, "a number"),
    "fallback_evalue": (_number, "a number"),
    "domain_threshold": (_number, "a number"),
    "domain_evalue": (_number, "a number"),
    "evalue": (_number, "a number"),
    "sa_threshold": (_number, "a number"),
    "top_k": (_count, "a whole number > 0"),
    "width": (_count, "a whole number > 0"),
    "latent_dim": (_count, "a whole number > 0"),
    "widths": (lambda x: isinstance(x, dict) and all(_count(w) for w in x.values()), "a map of whole numbers > 0"),
    "pins": (lambda x: isinstance(x, dict) and all(isinstance(v, str) for v in x.values()), "a map of sha256s"),
    **{ref: (lambda x: isinstance(x, str) and bool(x), "a model name") for ref in ("cnn", "frames", "vae", "ss")},
    **{key: (lambda x: isinstance(x, dict), "a map") for key in ("params", "metrics", "data", "calibration")},
}


def registry_dir() -> Path:
    """The shipped registry: `$PROTFAM_REGISTRY`, else the installed package data `protfam_registry` (the checkout's
    `registry/` folder in an editable install)."""
    env = os.environ.get("PROTFAM_REGISTRY")
    return Path(env) if env else Path(str(resources.files("protfam_registry")))


def _check_name(name: str, what: str = "model name") -> str:
    if not _NAME.match(name or ""):
        raise ModelError(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-'")
    return name


@dataclass
class Bundle:
    """A model bundle folder; `file(role)` and `onnx(role)` verify sha256 before handing an artifact out."""

    path: Path
    card: dict
    version: str
    source: str = "folder"
    _verified: set[str] = field(default_factory=set, repr=False)

    @property
    def name(self) -> str:
        return self.card["name"]

    @property
    def kind(self) -> str:
        return self.card["kind"]

    @property
    def ref(self) -> str:
        """`name/version`: how outputs and logs name the model they came from."""
        return f"{self.name}/{self.version}"

    @classmethod
    def load(cls, folder: str | Path, version: str | None = None, source: str = "folder") -> Bundle:
        """Read a bundle folder's model card (ModelError if it is missing or malformed)."""
        folder = Path(folder)
        card_path = folder / CARD
        if not card_path.is_file():
            raise ModelError(f"not a model bundle: {folder} has no {CARD}")
        try:
            card = json.loads(card_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelError(f"corrupt model card {card_path}: {exc}") from exc
        missing = [k for k in ("name", "version", "kind", "files") if k not in card] if isinstance(card, dict) else []
        if not isinstance(card, dict) or missing or not isinstance(card["files"], dict):
            raise ModelError(f"malformed model card {card_path}: missing {', '.join(missing) or 'a files map'}")
        _check_card(card_path, card)
        return cls(folder, card, str(version if version is not None else card["version"]), source)

    def card_sha256(self) -> str:
        """sha256 of model.json: what an MLflow model version records to detect a tampered card."""
        return sha256_file(self.path / CARD)

    def file(self, role: str) -> Path:
        """The verified artifact file of a role (ModelError if unknown, missing or tampered)."""
        files = self.card["files"]
        if role not in files:
            raise ModelError(f"model {self.ref} has no {role!r} file (roles: {', '.join(sorted(files))})")
        path = self.path / files[role]["path"]
        if role not in self._verified:
            if not path.is_file():
                raise ModelError(f"model {self.ref}: artifact {path} is missing")
            actual = sha256_file(path)
            if actual != files[role]["sha256"]:
                raise ModelError(
                    f"model {self.ref}: artifact {path.name} is tampered or corrupt "
                    f"(sha256 {actual[:12]}... != recorded {files[role]['sha256'][:12]}...)"
                )
            self._verified.add(role)
        return path

    def onnx(self, role: str, threads: int = 0) -> OnnxModel:
        """An onnxruntime session on `threads` threads (0 = all cores) for an ONNX artifact, verified first."""
        return OnnxModel(self.file(role), threads=threads)

    def verify(self) -> None:
        """Check every artifact's sha256 now, so a bad bundle fails before any work starts."""
        for role in self.card["files"]:
            self.file(role)


def save_bundle(folder: str | Path, name: str, kind: str, files: dict[str, Path], card: dict) -> Bundle:
    """Write a bundle folder: copy the artifacts in, record their sha256s, write model.json (atomically)."""
    _check_name(name)
    if kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r} (one of {', '.join(KINDS)})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, str]] = {}
    for role, src in files.items():
        src = Path(src)
        if not src.is_file():
            raise ModelError(f"bundle {name}: artifact for role {role!r} not found: {src}")
        if any(e["path"] == src.name for e in entries.values()) or src.name == CARD:
            raise ModelError(f"bundle {name}: two artifacts (or model.json) share the file name {src.name}")
        dest = folder / src.name
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        entries[role] = {"path": src.name, "sha256": sha256_file(dest)}
    full = {
        "name": name,
        "version": str(card.get("version", "1")),
        "kind": kind,
        "files": entries,
        "params": card.get("params", {}),
        "metrics": card.get("metrics", {}),
        "data": card.get("data", {}),
        "protfam_version": protfam_core.__version__,
        "tool_versions": card.get("tool_versions", tracking.tool_versions()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    full.update({k: v for k, v in card.items() if k not in full})
    write_text(json.dumps(full, indent=2, sort_keys=False) + "\n", folder / CARD)
    return Bundle.load(folder)


# ---- the shipped registry folder ------------------------------------------------------------------------------


def empty_manifest() -> dict:
    return {"format": 1, "defaults": {kind: None for kind in KINDS}, "models": {}}


def load_manifest(root: Path | None = None) -> dict:
    """registry/manifest.json (an empty manifest when the folder has none yet)."""
    path = (root or registry_dir()) / MANIFEST
    if not path.is_file():
        return empty_manifest()
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"corrupt registry manifest {path}: {exc}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ModelError(f"malformed registry manifest {path}: no 'models' map")
    manifest.setdefault("defaults", {})
    _check_manifest(path, manifest)
    return manifest


def _check_manifest(path: Path, manifest: dict) -> None:
    """Every field the registry reads has its type, so a hand-edited manifest is one line naming the field."""
    defaults = manifest["defaults"]
    if not isinstance(defaults, dict) or not all(v is None or isinstance(v, str) for v in defaults.values()):
        raise ModelError(f"malformed registry manifest {path}: 'defaults' is not a map of kind to model name")
    for name, entry in manifest["models"].items():
        where = f"malformed registry manifest {path}: model {name!r}"
        if not isinstance(entry, dict):
            raise ModelError(f"{where} is not a map")
        if not isinstance(entry.get("kind"), str):
            raise ModelError(f"{where}: 'kind' is not a kind")
        if not isinstance(entry.get("versions", []), list):
            raise ModelError(f"{where}: 'versions' is not a list")
        for key in ("aliases", "cards"):
            if not isinstance(entry.get(key, {}), dict):
                raise ModelError(f"{where}: {key!r} is not a map")


def _save_manifest(manifest: dict, root: Path) -> None:
    write_text(json.dumps(manifest, indent=2) + "\n", root / MANIFEST)


def _pick_version(entry: dict, name: str, alias: str | None, version: str | None, where: str) -> str:
    return pick_version(name, entry.get("aliases", {}), entry.get("versions", []), alias, version, where)


def _resolve_shipped(root: Path, manifest: dict, name: str, alias: str | None, version: str | None) -> Bundle:
    where = f"the shipped registry {root}"
    chosen = _pick_version(manifest["models"][name], name, alias, version, where)
    folder = root / name / chosen
    if not folder.is_dir():
        raise ModelError(f"model {name}/{chosen} is listed in {root / MANIFEST} but {folder} is missing")
    bundle = Bundle.load(folder, version=chosen, source="shipped")
    expected = manifest["models"][name].get("cards", {}).get(chosen)
    if expected is not None and bundle.card_sha256() != expected:
        raise ModelError(
            f"model {name}/{chosen}: its model.json is tampered or corrupt (sha256 {bundle.card_sha256()[:12]}... "
            f"!= {expected[:12]}... recorded in {root / MANIFEST})"
        )
    return bundle


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """An exclusive lock on the registry folder: engineers and CI jobs may publish at the same time."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _shipped_version(root: Path, bundle: Bundle) -> str:
    """The version a bundle is shipped as: an identical one's (same card but for the version: same artifacts and
    the same calling rule), its own, or the next free integer."""
    folder = root / bundle.name
    existing = [p.name for p in folder.iterdir() if (p / CARD).is_file()] if folder.is_dir() else []

    def unversioned(card: dict) -> dict:
        return {k: v for k, v in card.items() if k != "version"}

    same = [v for v in existing if unversioned(Bundle.load(folder / v).card) == unversioned(bundle.card)]
    if same:
        return bundle.version if bundle.version in same else same[0]
    if bundle.version not in existing:
        return bundle.version
    return next_version(existing)


def publish(bundle_folder: str | Path, alias: str | None = CHAMPION, root: Path | None = None) -> Bundle:
    """Copy a bundle into the shipped registry as registry/<name>/<version>/ and update the manifest.

    The bundle's own version is kept unless that version is already shipped with another card, then the next free
    integer is used; an identical bundle is not copied twice. Publishing under the `champion` alias also makes
    the model its kind's default.
    """
    root = root or registry_dir()
    bundle = Bundle.load(bundle_folder)
    bundle.verify()
    with _locked(root):
        manifest = load_manifest(root)
        entry = manifest["models"].setdefault(bundle.name, {"kind": bundle.kind, "versions": [], "aliases": {}})
        if entry["kind"] != bundle.kind:
            raise ModelError(f"registry model {bundle.name!r} is of kind {entry['kind']}, the bundle is {bundle.kind}")
        version = _shipped_version(root, bundle)
        target = root / bundle.name / version
        if not target.is_dir():
            with atomic_dir(target) as staged:
                shutil.copytree(bundle.path, staged, dirs_exist_ok=True)
                if version != bundle.version:
                    write_text(json.dumps(dict(bundle.card, version=version), indent=2) + "\n", staged / CARD)
        if version not in entry["versions"]:
            entry["versions"] = sorted([*entry["versions"], version], key=version_key)
        # the manifest pins every shipped card, the CNN's too (a CNN card pins the bundles it names, nothing pins it)
        entry.setdefault("cards", {})[version] = Bundle.load(target).card_sha256()
        if alias:
            entry.setdefault("aliases", {})[alias] = version
            if alias == CHAMPION:
                manifest["defaults"][bundle.kind] = bundle.name
        _save_manifest(manifest, root)
    return Bundle.load(target, source="shipped")


def promote_shipped(name: str, version: str, alias: str, root: Path | None = None) -> None:
    """Set or move an alias in the shipped registry's manifest."""
    root = root or registry_dir()
    with _locked(root):
        manifest = load_manifest(root)
        if name not in manifest["models"]:
            raise ModelError(f"unknown model {name!r} in the shipped registry {root}")
        entry = manifest["models"][name]
        _pick_version(entry, name, None, version, f"the shipped registry {root}")
        entry.setdefault("aliases", {})[alias] = version
        _save_manifest(manifest, root)


# ---- resolving a reference ------------------------------------------------------------------------------------


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """'name', 'name@alias' or 'name/version' -> (name, alias, version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return _check_name(name), _check_name(alias, "alias"), None
    if "/" in ref:
        name, version = ref.split("/", 1)
        return _check_name(name), None, _check_name(version, "version")
    return _check_name(ref), None, None


def _as_path(ref: str) -> Path | None:
    """The bundle folder a reference names, if it is a path rather than a registry name."""
    path = Path(ref).expanduser()
    explicit = ref.startswith(("/", "./", "../", "~")) or ref.count("/") > 1 or ref.endswith(CARD)
    if path.is_file() and path.name == CARD:
        return path.parent
    if path.is_dir() and (explicit or (path / CARD).is_file()):
        return path
    if explicit:
        raise ModelError(f"no model bundle folder at {ref}")
    return None


def _from_store(uri: str, name: str, alias: str | None, version: str | None) -> Bundle | None:
    """The bundle from an MLflow registry, downloaded to the cache and verified; None if the name is unknown there."""
    mlflow_client = tracking.client(uri)
    with tracking.store_errors(mlflow_client, f"resolving {name!r}"):
        if not tracking.has_model(mlflow_client, name):
            return None
        chosen = tracking.find_version(mlflow_client, name, alias, version)
        folder = tracking.download_version(mlflow_client, name, chosen)
    return Bundle.load(folder, version=chosen, source=f"mlflow {uri}")


def _shipped_default(root: Path, kind: str | None) -> Bundle:
    """The shipped default of a kind: never looked up in a store, so inference needs no network."""
    if kind is None:
        raise ModelError("a model reference or a model kind is needed")
    manifest = load_manifest(root)
    default = manifest.get("defaults", {}).get(kind)
    if not default:
        raise ModelError(
            f"no default {kind!r} model is shipped in {root} (manifest 'defaults'); pass a model: a bundle "
            "folder, NAME, NAME@ALIAS or NAME/VERSION"
        )
    if default not in manifest["models"]:
        raise ModelError(f"the default {kind!r} model {default!r} is not listed in {root / MANIFEST}")
    return _resolve_shipped(root, manifest, default, None, None)


def default_refs(root: Path | None = None) -> dict[str, str]:
    """kind -> name/version of each shipped default (read from the manifest alone: no artifact is opened)."""
    root = root or registry_dir()
    manifest = load_manifest(root)
    out = {}
    for kind in KINDS:
        name = manifest.get("defaults", {}).get(kind)
        entry = manifest["models"].get(name) if name else None
        if entry is None:
            out[kind] = "none shipped"
            continue
        try:
            out[kind] = f"{name}/{_pick_version(entry, name, None, None, str(root))}"
        except ModelError:
            out[kind] = f"{name} (no version)"
    return out


def _by_name(root: Path, ref: str) -> Bundle:
    """'name', 'name@alias' or 'name/version' from the shipped registry or the MLflow registry."""
    name, alias, version = parse_ref(ref)
    manifest = load_manifest(root)
    env_uri, any_uri = tracking.env_tracking_uri(), tracking.existing_tracking_uri()
    missing: list[VersionNotFound] = []  # the name is there, the version or alias is not: ask the other registry
    for source in ("store", "shipped") if env_uri else ("shipped", "store"):
        try:
            if source == "shipped" and name in manifest["models"]:
                return _resolve_shipped(root, manifest, name, alias, version)
            if source == "store" and any_uri:
                bundle = _from_store(any_uri, name, alias, version)
                if bundle is not None:
                    return bundle
        except VersionNotFound as err:
            missing.append(err)
    if missing:
        raise missing[0]
    places = f"the shipped registry {root}" + (f" or the MLflow registry at {any_uri}" if any_uri else "")
    raise ModelError(f"unknown model {name!r}: not in {places}")


def resolve(ref: str | None, kind: str | None) -> Bundle:
    """Find, verify and return a model bundle.

    None = the shipped default of `kind` (registry/ only); a path = that bundle folder; 'name', 'name@alias',
    'name/version' = the shipped registry and the MLflow registry (the configured store is asked first when
    PROTFAM_TRACKING_URI or MLFLOW_TRACKING_URI is set, otherwise the shipped folder first; a version or alias the
    first lacks is looked up in the other). A bare name means its champion, else its latest version.
    """
    root = registry_dir()
    if ref is None:
        bundle = _shipped_default(root, kind)
    else:
        path = _as_path(ref)
        bundle = Bundle.load(path) if path is not None else _by_name(root, ref)
    if kind is not None and bundle.kind != kind:
        raise ModelError(f"model {bundle.ref} is a {bundle.kind!r} model, a {kind!r} model is needed here")
    bundle.verify()
    return bundle


# ---- listing, import and export (the protfam-registry commands) ------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One model version as `protfam-registry list` shows it."""

    source: str
    name: str
    version: str
    kind: str
    aliases: tuple[str, ...]


def list_models(include_store: bool = True) -> list[Listing]:
    """Every model version of the shipped registry and, when one exists or is configured, of the MLflow store."""
    root = registry_dir()
    rows = []
    for name, entry in sorted(load_manifest(root)["models"].items()):
        for version in entry.get("versions", []):
            tags = tuple(sorted(a for a, v in entry.get("aliases", {}).items() if str(v) == str(version)))
            rows.append(Listing("shipped", name, str(version), entry.get("kind", "?"), tags))
    uri = tracking.existing_tracking_uri() if include_store else None
    if uri:
        mlflow_client = tracking.client(uri)
        with tracking.store_errors(mlflow_client, "listing models"):
            rows.extend(Listing("mlflow", *row) for row in tracking.list_versions(mlflow_client))
    if not rows and not root.is_dir():  # an empty listing would read as "no models", not as a wrong folder
        raise ModelError(f"the registry folder {root} does not exist (check $PROTFAM_REGISTRY)")
    return rows


def export_bundle(ref: str, dest: str | Path) -> Bundle:
    """Resolve a model and write it as a self-contained bundle folder (what Galaxy and Nextflow load)."""
    bundle = resolve(ref, None)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"export destination {dest} exists and is not an empty folder")
    with atomic_dir(dest) as staged:
        card = dict(bundle.card, version=bundle.version)
        for role in card["files"]:
            shutil.copyfile(bundle.file(role), staged / card["files"][role]["path"])
        write_text(json.dumps(card, indent=2) + "\n", staged / CARD)
    return Bundle.load(dest)


def import_bundles(source: str | Path | None = None) -> list[tuple[str, str, str, str]]:
    """Import the shipped registry (or another registry folder, or one bundle folder) into the MLflow store.

    Versions already registered with an identical model.json are not imported twice; aliases of a registry folder
    are set on the matching store versions. Returns (name, bundle version, store version, 'imported'|'present').
    """
    root = Path(source) if source is not None else registry_dir()
    if (root / MANIFEST).is_file():
        manifest = load_manifest(root)
        bundles = [
            (Bundle.load(root / name / str(v)), entry.get("aliases", {}))
            for name, entry in sorted(manifest["models"].items())
            for v in entry.get("versions", [])
        ]
    elif (root / CARD).is_file():
        bundles = [(Bundle.load(root), {})]
    else:
        raise ModelError(f"nothing to import: {root} has neither {MANIFEST} nor {CARD}")
    mlflow_client = tracking.client()
    results = []
    for bundle, aliases in bundles:
        bundle.verify()
        with tracking.store_errors(mlflow_client, f"importing {bundle.ref}"):
            store_version, status = tracking.import_bundle(mlflow_client, bundle, str(root))
            for alias, version in aliases.items():
                if str(version) == bundle.version:
                    tracking.set_alias(mlflow_client, bundle.name, store_version, alias)
        results.append((bundle.name, bundle.version, store_version, status))
    return results


def promote(name: str, version: str, alias: str = CHAMPION, shipped: bool = False) -> str:
    """Set or move an alias, in the MLflow store (default) or in the shipped registry; return where."""
    _check_name(name)
    _check_name(alias, "alias")
    if shipped:
        promote_shipped(name, version, alias)
        return f"the shipped registry {registry_dir()}"
    mlflow_client = tracking.client()
    with tracking.store_errors(mlflow_client, f"promoting {name}/{version}"):
        if not tracking.has_model(mlflow_client, name):
            raise ModelError(f"unknown model {name!r} in the MLflow registry at {mlflow_client.tracking_uri}")
        tracking.set_alias(mlflow_client, name, version, alias)
    return f"the MLflow registry at {mlflow_client.tracking_uri}"


def new_version(name: str, root: Path | None = None) -> str:
    """The version a newly trained or calibrated bundle of `name` gets: the next one after the shipped registry's."""
    return next_version(load_manifest(root).get("models", {}).get(name, {}).get("versions", []))


# ---- the chain: bundles a CNN was trained with ------------------------------------------------------------------


def pinned(card: dict, role: str, override: str | None = None) -> Bundle:
    """The bundle a CNN card names for `role` (frames, vae, ss), or `override`.

    A card also records the sha256 of each named bundle's model.json (`pins`): a name/version that resolves to
    another bundle (a store numbering versions its own way, an edited card) is refused instead of silently used.
    """
    if override is not None:
        return resolve(override, role)
    expected = card.get("pins", {}).get(role)
    shipped = _shipped_pin(card.get(role), role, expected)
    if shipped is not None:
        return shipped
    bundle = resolve(card.get(role), role)
    if expected is not None and bundle.card_sha256() != expected:
        raise ModelError(
            f"the CNN was trained with {role} {card.get(role)} (model.json sha256 {expected[:12]}...), but that name "
            f"resolves to {bundle.ref} (sha256 {bundle.card_sha256()[:12]}...)"
        )
    return bundle


def _shipped_pin(ref: object, role: str, expected: str | None) -> Bundle | None:
    """The shipped bundle a card pins, when `ref` is a name/version shipped with exactly the pinned model.json: a
    shipped default then resolves with no store contacted, whatever PROTFAM_TRACKING_URI says (issue 19)."""
    if expected is None or not isinstance(ref, str) or _as_path(ref) is not None:
        return None
    name, alias, version = parse_ref(ref)
    root = registry_dir()
    folder = root / name / version if version is not None and alias is None else None
    if folder is None or not (folder / CARD).is_file() or name not in load_manifest(root)["models"]:
        return None
    bundle = Bundle.load(folder, version=version, source="shipped")
    if bundle.kind != role or bundle.card_sha256() != expected:
        return None
    bundle.verify()
    return bundle


def pins(bundles: dict[str, Bundle]) -> dict[str, str]:
    """`pins` of a CNN card: role -> sha256 of that bundle's model.json."""
    return {role: b.card_sha256() for role, b in bundles.items()}


def chain_bundle(role: str, model: str | None = None) -> Bundle:
    """The `role` bundle (frames, vae, ss) the CNN `model` (default: the shipped one) was trained with: each stage
    tool's default, so that the pipe of the stage tools is the classifier."""
    return pinned(resolve(model, "cnn").card, role)
