"""Start-up counts at 30 (later 300) mirrors: the sync must not import forge clients."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Site

_PROBE = """
import atexit, sys
heavy = ("gitlab", "requests", "git", "unidiff")
atexit.register(lambda: print("LOADED", sorted(m for m in heavy if m in sys.modules),
                              file=sys.stderr))
from mirrorctl.cli import main
main(sys.argv[1:])
"""


def test_commands_that_talk_to_no_forge_load_no_forge_client(site: Site) -> None:
    for command in (["sync"], ["validate"], ["sync", "--dry-run", "--format", "json"],
                    ["releases"], ["classify"]):
        result = subprocess.run([sys.executable, "-c", _PROBE, *site.args(*command)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "LOADED []" in result.stderr, result.stderr


_STARTUP = """
import atexit, sys
unused = ("email", "packaging.tags", "jinja2", "rich", "unidiff", "tomlkit", "pypi_simple",
          "junitparser", "requests", "gitlab", "tomllib")
atexit.register(lambda: print("UNUSED", sorted(m for m in unused if m in sys.modules),
                              file=sys.stderr))
from mirrorctl.cli import main
main(sys.argv[1:])
"""


def test_a_no_op_sync_imports_only_what_it_uses(site: Site) -> None:
    """Measured with `python -X importtime -m mirrorctl sync`: e-mail parsing (for the
    pull requests' identity) and packaging's wheel tags cost ~20 ms of every start."""
    for _ in range(2):  # the second is the nightly's no-op
        result = subprocess.run([sys.executable, "-c", _STARTUP, *site.args("sync")],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "UNUSED []" in result.stderr, result.stderr
