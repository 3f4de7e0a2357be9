"""protfam core library: every piece of logic behind the protfam command-line tools."""

from importlib.metadata import version

# The one version is pyproject.toml's; the installed distribution's metadata carries it here (.ci/version.py).
__version__ = version("protfam")
