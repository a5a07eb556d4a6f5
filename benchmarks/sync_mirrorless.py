"""No-op sync of 30 mirror-less packages against 30 plain `git ls-remote` calls.

Goal (issue 13): at most 1.2x. Without a mirror a no-op sync is one ls-remote of
upstream a package and nothing else; mirrorctl's time includes starting Python and
loading mirrors.yaml, as a nightly job pays it. Two settings, as for the mirror sync:
local repositories, and the same behind a 30 ms round trip per connection.
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
    without_mirrors,
)

PACKAGES = 30
REPEATS = 9


def _measure(label: str, env: dict[str, str], config: Path, workdir: Path,
             upstreams: list[str]) -> float:
    mirrorctl(env, config, workdir)  # the first sync fills the caches: then no-ops
    medians = interleaved({
        "30 x git ls-remote (sequential)": lambda: ls_remote(env, upstreams),
        "mirrorctl sync, no mirrors, no-op (jobs 4)": lambda: mirrorctl(env, config, workdir),
        "mirrorctl sync, no mirrors, no-op (jobs 1)":
            lambda: mirrorctl(env, config, workdir, "-j1"),
    }, REPEATS)
    return print_no_op(f"no-op sync of {PACKAGES} mirror-less packages, {label}", medians,
                       "mirrorctl sync, no mirrors, no-op (jobs 4)", "<= 1.2x")


def main() -> dict[str, float]:
    root, env, config, _ = make_site(PACKAGES)
    try:
        bare = without_mirrors(config, root / "bare.yaml")
        upstreams = [str(p) for p in sorted((root / "up").iterdir())]
        local = _measure("local repositories", env, bare, root / "work-bare", upstreams)
        slow_env = with_latency(env, root, 0.03)
        slow = _measure("30 ms per connection", slow_env,
                        without_mirrors(ssh_config(config, root / "ssh.yaml"),
                                         root / "ssh-bare.yaml"),
                        root / "work-ssh-bare", [f"ssh://bench{u}" for u in upstreams])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"mirrorless_local": local, "mirrorless_30ms": slow}


if __name__ == "__main__":
    main()
