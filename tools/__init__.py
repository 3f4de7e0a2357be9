"""Thin typer shells over protfam_core: one module per command-line tool."""
