"""protfam core library: every piece of logic behind the protfam command-line tools."""

__version__ = "0.1.0"
