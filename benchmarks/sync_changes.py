"""A sync with changes against hand-written `git fetch` + `git push`, 30 packages.

Every round, each upstream gains 3 commits on main and 2 new tags. The hand-written
baseline is what a person would script: for each package, fetch the mirrored refs
into a bare cache, then push them to the mirror (no leases, no verification, no
plan). mirrorctl does the same work plus leases, a plan and a verifying ls-remote.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import (
    fast_import_stream,
    git,
    interleaved,
    make_site,
    mirrorctl,
)

PACKAGES = 30
REPEATS = 7


def main() -> dict[str, float]:
    root, env, config, workdir = make_site(PACKAGES)
    try:
        upstreams = sorted((root / "up").iterdir())
        # The baseline gets mirrors and caches of its own, in the same starting state.
        for upstream in upstreams:
            for kind in ("hand-mirrors", "hand-cache"):
                target = root / kind / f"{upstream.name}.git"
                git(env, "init", "--quiet", "--bare", str(target))
        mirrorctl(env, config, workdir)
        refspecs = ["+refs/heads/main:refs/heads/main", "+refs/heads/maintenance/*:"
                    "refs/heads/maintenance/*", "+refs/tags/*:refs/tags/*"]

        def hand_written() -> None:
            for upstream in upstreams:
                cache = root / "hand-cache" / f"{upstream.name}.git"
                mirror = root / "hand-mirrors" / f"{upstream.name}.git"
                subprocess.run(["git", "--git-dir", str(cache), "fetch", "--quiet",
                                str(upstream), *refspecs], env=env, check=True)
                subprocess.run(["git", "--git-dir", str(cache), "push", "--quiet", str(mirror),
                                "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"],
                               env=env, check=True)

        hand_written()  # the same initial copy mirrorctl made

        def upstream_moves(round_: int) -> None:
            for upstream in upstreams:
                stream = fast_import_stream(3, 2, 0, start=1000 + 10 * round_)
                git(env, "--git-dir", str(upstream), "fast-import", "--quiet", input=stream)

        medians = interleaved({
            "hand-written fetch + push (sequential)": hand_written,
            "mirrorctl sync (jobs 4)": lambda: mirrorctl(env, config, workdir),
        }, REPEATS, before_each_round=upstream_moves)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    baseline = medians["hand-written fetch + push (sequential)"]
    print(f"sync with changes, {PACKAGES} packages (3 commits + 2 tags each a round), "
          f"median of {REPEATS} interleaved runs")
    for name, seconds in medians.items():
        print(f"  {name:<46} {seconds:7.3f} s  {seconds / baseline:5.2f}x")
    ratio = medians["mirrorctl sync (jobs 4)"] / baseline
    print(f"  ratio mirrorctl / hand-written: {ratio:.2f}x\n")
    return {"changes": ratio}


if __name__ == "__main__":
    main()
