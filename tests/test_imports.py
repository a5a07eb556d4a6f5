"""Start-up counts at 30 (later 300) mirrors: the sync must not import forge clients."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Site
from tests.test_rebase import numpy_site

__all__ = ["numpy_site"]

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


_PARSERS = """
import atexit, sys
parsers = ("email.policy", "email.feedparser", "tomllib", "configparser",
           "packaging.requirements")
atexit.register(lambda: print("PARSERS", sorted(m for m in parsers if m in sys.modules),
                              file=sys.stderr))
from mirrorctl.cli import main
main(sys.argv[1:])
"""


def test_a_grade_from_what_was_kept_parses_no_mail_and_no_build_file(
        numpy_site: Site) -> None:
    """Once a queue's files are parsed (queue.kept) and the release trees' build facts
    computed (kept by tree), classify loads none of their parsers: about 20 ms of each
    command that grades (measured with `python -X importtime`)."""
    import time

    def classify() -> str:
        result = subprocess.run([sys.executable, "-c", _PARSERS,
                                 *numpy_site.args("classify", "--format", "json")],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        return result.stderr

    assert subprocess.run([sys.executable, "-m", "mirrorctl", *numpy_site.args("sync")],
                          check=False).returncode == 0
    queue = numpy_site.root / "patchsets" / "numpy" / "1.0.0"
    newest = max(max(p.stat().st_mtime, p.stat().st_ctime) for p in queue.iterdir())
    time.sleep(max(0.0, newest + 2.1 - time.time()))  # no longer racily clean: kept
    first = classify()
    assert "'email.policy'" in first and "'packaging.requirements'" in first  # parsed, once
    assert "PARSERS []" in classify()
