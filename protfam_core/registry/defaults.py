"""The models a tool uses when it is given none, as `--version` prints them.

Two defaults coexist. The classifier's chain is the shipped CNN and the frames, VAE and SS model its card pins:
classify-cnn uses it, and so does every stage tool given placements, so that the pipe of the stage tools is the
classifier. A tool given plain sequences or rows uses the registry's default of the kind instead, which may be newer
than the chain's (predict-ss's default SS model is ss-predictor/6, the chain's ss-predictor/5). Only the manifest and
model cards are read: `--version` opens no artifact.
"""

from __future__ import annotations

from pathlib import Path

from protfam_core.errors import ModelError
from protfam_core.registry.bundles import KINDS, Bundle, default_refs, parse_ref, registry_dir

CHAIN_ROLES = ("frames", "vae", "ss")
# The kinds whose registry default each tool uses outside the chain (protfam-registry reports every kind).
TOOL_KINDS = {
    "prep-msa": (),
    "predict-ss": ("ss",),
    "encode-vae": ("vae",),
    "classify-cnn": ("fast",),
    "fingerprint-search": ("index",),
    "protfam-registry": KINDS,
}


def _card(root: Path, ref: str) -> dict | None:
    """The model card of a shipped name/version (None when it is not shipped)."""
    name, alias, version = parse_ref(ref)
    folder = root / name / version if version is not None and alias is None else None
    if folder is None or not folder.is_dir():
        return None
    try:
        return Bundle.load(folder).card
    except ModelError:
        return None


def chain_refs(root: Path | None = None) -> dict[str, str]:
    """cnn, frames, vae, ss -> name/version of the shipped classifier's chain ('none shipped' without a CNN)."""
    root = root or registry_dir()
    cnn = default_refs(root)["cnn"]
    card = _card(root, cnn) or {}
    return {"cnn": cnn, **{role: str(card.get(role, "none shipped")) for role in CHAIN_ROLES}}


def default_model_lines(prog: str, root: Path | None = None) -> list[str]:
    """The lines after `prog VERSION` in `prog --version`: the chain, then the registry defaults the tool uses."""
    root = root or registry_dir()
    chain = chain_refs(root)
    defaults = default_refs(root)
    vae_ss = (_card(root, defaults["vae"]) or {}).get("params", {}).get("ss_model", "none recorded")
    when = {
        "ss": f"sequences in; placements in use the chain's {chain['ss']}",
        "vae": f"aligned rows in, SS/SA from its own {vae_ss}; placements in use the chain's {chain['vae']}",
        "cnn": "the chain's CNN",
        "frames": f"prep-msa place uses the chain's {chain['frames']}",
        "index": "fingerprint-search search",
        "fast": "classify-cnn predict --fast",
    }
    lines = ["  classifier chain: " + " ".join(f"{role} {ref}" for role, ref in chain.items())]
    lines += [f"  default {kind} model: {defaults[kind]} ({when[kind]})" for kind in TOOL_KINDS.get(prog, KINDS)]
    return lines
