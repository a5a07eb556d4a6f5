"""No-op sync of 30 packages against 30 plain `git ls-remote` calls.

Goal (issue 2): the no-op sync within 1.5x of the 30 ls-remote calls. mirrorctl's
time includes starting Python and loading mirrors.yaml, as a nightly job pays it.
Two settings: local repositories (no latency: the worst case for mirrorctl's fixed
start-up cost), and the same repositories behind a 30 ms round trip per connection.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import (
    interleaved,
    ls_remote,
    make_site,
    mirrorctl,
    print_no_op,
    ssh_config,
    with_latency,
)

PACKAGES = 30
REPEATS = 9


def _measure(label: str, env: dict[str, str], config: Path, workdir: Path,
             upstreams: list[str], mirrors: list[str]) -> float:
    mirrorctl(env, config, workdir)  # the first sync: everything after is a no-op
    medians = interleaved({
        "30 x git ls-remote (sequential)": lambda: ls_remote(env, upstreams),
        "60 x git ls-remote (both sides, sequential)":
            lambda: ls_remote(env, upstreams + mirrors),
        "mirrorctl sync, no-op (jobs 4)": lambda: mirrorctl(env, config, workdir),
        "mirrorctl sync, no-op (jobs 1)": lambda: mirrorctl(env, config, workdir, "-j1"),
    }, REPEATS)
    return print_no_op(f"no-op sync of {PACKAGES} packages, {label}", medians,
                       "mirrorctl sync, no-op (jobs 4)", "<= 1.5x")


def main() -> dict[str, float]:
    root, env, config, workdir = make_site(PACKAGES)
    try:
        upstreams = [str(p) for p in sorted((root / "up").iterdir())]
        mirrors = [str(p) for p in sorted((root / "mirrors").iterdir())]
        local = _measure("local repositories", env, config, workdir, upstreams, mirrors)
        slow_env = with_latency(env, root, 0.03)
        slow = _measure("30 ms per connection", slow_env,
                        ssh_config(config, root / "ssh.yaml"), root / "work-ssh",
                        [f"ssh://bench{u}" for u in upstreams],
                        [f"ssh://bench{m}" for m in mirrors])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"noop_local": local, "noop_30ms": slow}


if __name__ == "__main__":
    main()
