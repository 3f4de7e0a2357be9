"""User-facing errors: one clear line, a non-zero exit, never a traceback."""


class ProtfamError(Exception):
    """Base class of every error a tool reports to its user as one line."""

    exit_code = 2


class InputError(ProtfamError):
    """The user's input (file, format, letters, lengths, options) cannot be used."""


class OutputError(ProtfamError):
    """An output cannot be written: a missing folder, no permission, a directory, a full disk, a closed stream."""


class ModelError(ProtfamError):
    """A model cannot be found, verified or loaded."""


class VersionNotFound(ModelError):
    """The model name is known there, but not the version or alias asked for (another registry may have it)."""


class ToolMissingError(ProtfamError):
    """An external program (aligner, DSSP) is not on PATH."""

    exit_code = 3


def require(extra: str, *modules: str) -> None:
    """One line instead of an ImportError when a command needs an optional part of protfam that is not installed."""
    from importlib.util import find_spec

    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise ToolMissingError(f"this command needs {', '.join(missing)}: pip install 'protfam[{extra}]'")
