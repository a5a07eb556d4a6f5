"""The command line: one module a family of commands, with its renderers beside it."""

from mirrorctl.cli.main import cli, main

__all__ = ["cli", "main"]
