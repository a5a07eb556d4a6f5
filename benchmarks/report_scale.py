"""The report of 1,000 packages from warm caches: time a package, and the page's size.

Issue 16 asks that a 1,000-package report render in seconds and stay readable; issue 21
that the worst morning cost no more than the usual one, since the packages' records
hold the night's carries. The baseline, timed in the same run, is what the report has
to read at the least: one `git for-each-ref` of each package's cache, in turn. Three
mornings are timed:
- the worst, with no record of a carry (before any nightly): every package has a new
  release its queue (two patches) is not carried onto, which the grade dry-runs;
- the worst, the carries recorded: a nightly carried every queue, but its new folders
  are not here (a checkout of the builders' main, where the night's pull requests are
  not merged yet): the report reads each carry from the record instead of a dry run;
- the usual one: every queue carried, its upgrade standing, six older releases'
  folders kept, as the builders keep every one, for the patch debt to read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import interleaved, make_site, without_mirrors

PACKAGES = 1000
REPEATS = 3


def main() -> dict[str, float]:
    root, env, config, _ = make_site(PACKAGES, commits=8, tags=3, branches=1)
    try:
        # Each package's queue is for release 0.1; 0.2 is out.
        bare = without_mirrors(config, root / "bare.yaml", version="0.1")
        names = list(yaml.safe_load(bare.read_text())["packages"])
        kept_queues(root / "patchsets", names, ("0.0.0", "0.0.1", "0.0.2", "0.0.3", "0.0.4",
                                                "0.1"))
        workdir, page = root / "work", root / "report.html"
        base = [sys.executable, "-m", "mirrorctl", "--config", str(bare), "--workdir",
                str(workdir), "-q"]
        subprocess.run([*base, "sync"], env=env, check=True, stdout=subprocess.DEVNULL)
        caches = sorted((workdir / "cache").iterdir())

        def refs() -> None:
            for cache in caches:
                subprocess.run(["git", "--git-dir", str(cache), "for-each-ref"], env=env,
                               check=True, stdout=subprocess.DEVNULL)

        def report() -> None:
            subprocess.run([*base, "report", "-o", str(page)], env=env, check=False,
                           stdout=subprocess.DEVNULL)

        baseline_name = f"{PACKAGES} x git for-each-ref (sequential)"
        contenders = {baseline_name: refs, "mirrorctl report -o report.html": report}
        recomputed = timed(f"report of {PACKAGES} packages, each with a new release to "
                           "dry-run, no carry recorded", contenders)
        # The night carries every queue onto 0.2 and records each carry and its grade.
        subprocess.run([*base, "nightly"], env=env, check=False, stdout=subprocess.DEVNULL)
        aside = root / "carried"
        aside.mkdir()
        for name in names:
            shutil.move(root / "patchsets" / name / "0.2", aside / name)
        recorded = timed(f"report of {PACKAGES} packages, each with a new release not "
                         "carried here, the night's carry recorded", contenders)
        for name in names:
            shutil.move(aside / name, root / "patchsets" / name / "0.2")
        steady = timed(f"report of {PACKAGES} packages, each carried (its upgrade "
                       "standing), six older folders", contenders)
        print(f"  the worst morning from the records: {recorded[1] / steady[1]:.2f}x the "
              f"usual one; {recomputed[1] / recorded[1]:.1f}x faster than dry-running it")
        size = page.stat().st_size
        print(f"  the page: {size / 1024:.0f} KiB")
        render = browser_render(page, root)
        print()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"report_ms_per_package": steady[1] / PACKAGES * 1000,
            "report_due_ms_per_package": recomputed[1] / PACKAGES * 1000,
            "report_recorded_ms_per_package": recorded[1] / PACKAGES * 1000,
            "report_worst_vs_usual": recorded[1] / steady[1],
            "report_recompute_vs_recorded": recomputed[1] / recorded[1],
            "report_page_kib": size / 1024, "report_vs_refs": steady[1] / steady[0],
            "report_render_s": render}


def timed(title: str, contenders: dict[str, Callable[[], None]]) -> tuple[float, float]:
    """(baseline, report) medians, printed with their ratios and the time a package."""
    medians = interleaved(contenders, REPEATS)
    baseline, report = medians.values()
    print(f"{title}, warm caches, median of {REPEATS} interleaved runs")
    for name, seconds in medians.items():
        print(f"  {name:<52} {seconds:7.2f} s  {seconds / baseline:5.2f}x")
    print(f"  {report / PACKAGES * 1000:.1f} ms a package")
    return baseline, report


# A format-patch as the builders keep them: it adds a file, so it applies on any release.
PATCH = """From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: A Builder <builder@example.org>
Date: Mon, 1 Jan 2024 00:00:00 +0000
Subject: [PATCH] BLD: riscv64 note {n}

Upstream-Status: Submitted [https://github.com/o/r/pull/{n}]
---
 riscv64-{n}.txt | 1 +
 1 file changed, 1 insertion(+)
 create mode 100644 riscv64-{n}.txt

diff --git a/riscv64-{n}.txt b/riscv64-{n}.txt
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/riscv64-{n}.txt
@@ -0,0 +1 @@
+rv64gc
-- \n2.39.0
"""


def kept_queues(patchsets: Path, names: list[str], versions: tuple[str, ...]) -> None:
    """A queue folder of two patches for each of `versions`, for each package, as the
    builders keep every one."""
    for name in names:
        for version in versions:
            folder = patchsets / name / version
            folder.mkdir(parents=True)
            for n in (1, 2):
                (folder / f"000{n}-BLD-riscv64-note-{n}.patch").write_text(PATCH.format(n=n))


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
