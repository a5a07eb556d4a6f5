"""The report of 1,000 packages from warm caches: time a package, and the page's size.

Issue 16 asks that a 1,000-package report render in seconds and stay readable. The
baseline, timed in the same run, is what the report has to read at the least: one
`git for-each-ref` of each package's cache, in turn.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import interleaved, make_site, without_mirrors

PACKAGES = 1000
REPEATS = 3


def main() -> dict[str, float]:
    root, env, config, _ = make_site(PACKAGES, commits=8, tags=3, branches=1)
    try:
        # Release 0.1 current, 0.2 new: each package is graded from its cache.
        bare = without_mirrors(config, root / "bare.yaml", version="0.1")
        workdir, page = root / "work", root / "report.html"
        base = [sys.executable, "-m", "mirrorctl", "--config", str(bare), "--workdir",
                str(workdir), "-q"]
        subprocess.run([*base, "sync"], env=env, check=True, stdout=subprocess.DEVNULL)
        caches = sorted((workdir / "cache").iterdir())

        def refs() -> None:
            for cache in caches:
                subprocess.run(["git", "--git-dir", str(cache), "for-each-ref"], env=env,
                               check=True, stdout=subprocess.DEVNULL)

        medians = interleaved({
            f"{PACKAGES} x git for-each-ref (sequential)": refs,
            f"mirrorctl report -o report.html, {PACKAGES} packages": lambda: subprocess.run(
                [*base, "report", "-o", str(page)], env=env, check=False,
                stdout=subprocess.DEVNULL),
        }, REPEATS)
        baseline, report = medians.values()
        size = page.stat().st_size
        print(f"report of {PACKAGES} packages from warm caches, median of {REPEATS} "
              "interleaved runs")
        for name, seconds in medians.items():
            print(f"  {name:<52} {seconds:7.2f} s  {seconds / baseline:5.2f}x")
        per_package = report / PACKAGES * 1000
        print(f"  {per_package:.1f} ms a package; the page: {size / 1024:.0f} KiB\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"report_ms_per_package": per_package, "report_page_kib": size / 1024,
            "report_vs_refs": report / baseline}


if __name__ == "__main__":
    main()
