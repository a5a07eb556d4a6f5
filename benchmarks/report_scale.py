"""The report of 1,000 packages from warm caches: time a package, and the page's size.

Issue 16 asks that a 1,000-package report render in seconds and stay readable. The
baseline, timed in the same run, is what the report has to read at the least: one
`git for-each-ref` of each package's cache, in turn.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
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
        print(f"  {per_package:.1f} ms a package; the page: {size / 1024:.0f} KiB")
        render = browser_render(page, root)
        print()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"report_ms_per_package": per_package, "report_page_kib": size / 1024,
            "report_vs_refs": report / baseline, "report_render_s": render}


def browser_render(page: Path, root: Path) -> float:
    """Seconds headless Chromium takes to load, lay out and script the page, beyond what
    it takes for an empty page (its own start-up), timed in turn; nan without Chromium."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("  no chromium here: the page's render time is not measured")
        return float("nan")
    empty = root / "empty.html"
    empty.write_text("<!DOCTYPE html><title>empty</title>")

    def draw(path: Path) -> Callable[[], None]:
        return lambda: subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={root / 'profile'}", "--dump-dom", path.as_uri()],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(root)})

    medians = interleaved({"an empty page": draw(empty),
                           f"the page of {PACKAGES} packages": draw(page)}, REPEATS)
    start_up, full = medians.values()
    print(f"  headless Chromium draws it in {full:.2f} s, {full - start_up:.2f} s more than "
          f"an empty page ({start_up:.2f} s)")
    return full - start_up


if __name__ == "__main__":
    main()
