"""The command line: one module a family of commands, with its renderers beside it
(sync, grade: releases and classify, queue: patches and rebase, upstream, night:
nightly, ci generate and demo, report, stack, validate), the root that gathers them
and turns exceptions into exit statuses (main), what every command shares (base: the
run resolved once, the git runner, forge settings) and the progress board (board).
"""

from mirrorctl.cli.main import cli, main

__all__ = ["cli", "main"]
