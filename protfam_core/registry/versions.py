"""Model versions: one numbering for every trained, calibrated or published bundle, one alias/version lookup.

A new bundle gets one more than the highest integer version its name already has, so versions of one model sort
by age. A reference `name@alias`, `name/version` or a bare `name` (its champion, else its latest version) means the
same in the shipped registry and in an MLflow registry: both call `pick_version`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from protfam_core.errors import ModelError, VersionNotFound

CHAMPION = "champion"  # the alias a bare model name means


def version_key(version: str) -> tuple[int, str]:
    """Sort key: integer versions by value, after any non-integer ones."""
    return (int(version), "") if version.isdigit() else (-1, version)


def next_version(taken: Iterable[str]) -> str:
    """One more than the highest integer version in `taken` ("1" for a new model)."""
    return str(max([int(v) for v in map(str, taken) if v.isdigit()] + [0]) + 1)


def pick_version(
    name: str, aliases: Mapping[str, str], versions: Iterable[str], alias: str | None, version: str | None, where: str
) -> str:
    """The version an alias or an explicit version names; neither = the champion, else the latest version."""
    versions = [str(v) for v in versions]
    if alias is not None:
        if alias not in aliases:
            raise VersionNotFound(
                f"model {name!r} has no alias {alias!r} in {where} (aliases: {', '.join(sorted(aliases)) or 'none'})"
            )
        return str(aliases[alias])
    if version is not None:
        if version not in versions:
            raise VersionNotFound(
                f"model {name!r} has no version {version!r} in {where} (versions: {', '.join(versions) or 'none'})"
            )
        return version
    if CHAMPION in aliases:
        return str(aliases[CHAMPION])
    if not versions:
        raise ModelError(f"model {name!r} has no versions in {where}")
    return max(versions, key=version_key)
