"""Each chapter's wall time and peak memory for a parameter file, beside the default run.

Every chapter runs on its own through the project's runner (``python -m book_runner run --params
FILE --only CHAPTER``), in chapter order, so each one's cost is its own; memory is the peak of the
summed resident set size of the runner and all its children (the chapter's kernel among them),
polled every 0.2 s with psutil. By default each parameter file gets a fresh data home, so nothing is
read from an earlier run's caches: chapter 02 includes writing the simulated images. The table
gives, per chapter, time and peak memory for each file and their ratio to the reference file
(``params/default.yml`` unless ``--reference`` says otherwise).

Run: ``python benchmarks/bench_rehearsal.py --chapters 01 02`` (``--help`` for the options); with
``ALICE_MIRROR`` set offline (Schaefer 400 comes from the mirror there).

Measured on this 2-core machine shared with other work (load average about 3), 2026-12-03,
``params/paper-rehearsal.yml`` (23 simulated subjects on the SPM derivatives' 79 x 95 x 68 grid of
2 mm, Schaefer 400) against ``params/default.yml`` (8 subjects, 4 mm MNI152, Seitzman 300):

=================  =======================  ========  =======  ======  =====
chapter            params                     time s  peak GB  x time  x mem
=================  =======================  ========  =======  ======  =====
01_annotation      default.yml                  17.5     0.59
01_annotation      paper-rehearsal.yml          13.3     0.59     0.8    1.0
02_preprocessing   default.yml                  48.4     1.62
02_preprocessing   paper-rehearsal.yml        1453.7     4.39    30.0    2.7
03_features        default.yml                  42.9     1.62
03_features        paper-rehearsal.yml         171.2     6.91     4.0    4.3
=================  =======================  ========  =======  ======  =====

Chapter 02 at the rehearsal geometry: about 5 minutes writing the 23 images (about 13 s each: one
760 MB float32 volume in memory at a time, 145 MB on disk as gzipped int16) and about 19 minutes
extracting Schaefer 400 time series and temporal SNR from them (about 50 s per subject, most of it
reading and cleaning the 2 mm image). Peak memory stays at one subject's image plus the masker's
copies: 4.4 GB, not 23 images. Chapter 03 holds the DFC of 23 x 361 windows x 79,800 edges (2.7 GB
in float32) and its copies. The machine was shared (load average 4-7) during the runs; chapter 03
ran in the data homes of chapters 01-02 (``--data-home``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = (
    "01_annotation",
    "02_preprocessing",
    "03_features",
    "04_regression",
    "05_explanations",
    "06_interpretation",
    "07_sensitivity",
    "08_calibration",
)
POLL_S = 0.2


@dataclass
class ChapterCost:
    """What one chapter cost under one parameter file."""

    params: str
    chapter: str
    seconds: float
    peak_rss_gb: float
    returncode: int


def _tree_rss(process: psutil.Process) -> int:
    """Summed resident set size of a process and all its descendants, in bytes."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_chapter(params: str, chapter: str, env: dict[str, str]) -> ChapterCost:
    """Run one chapter through the runner; its wall time and the peak RSS of its process tree."""
    command = [sys.executable, "-m", "book_runner", "run", "--params", params, "--only", chapter]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    watched = psutil.Process(child.pid)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(watched))
            done.wait(POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    returncode = child.wait()
    done.set()
    poller.join()
    seconds = time.perf_counter() - started
    return ChapterCost(params, chapter, round(seconds, 1), round(peak / 1e9, 2), returncode)


def chapter_names(wanted: list[str] | None) -> list[str]:
    """The chapters to run, in book order, from names or number prefixes (``02``)."""
    if not wanted:
        return list(CHAPTERS)
    chosen = []
    for name in wanted:
        matches = [c for c in CHAPTERS if c == name or c.startswith(f"{name}_")]
        if not matches:
            raise SystemExit(f"unknown chapter {name!r}; known: {', '.join(CHAPTERS)}")
        chosen.extend(m for m in matches if m not in chosen)
    return sorted(chosen, key=CHAPTERS.index)


def ratio_table(costs: list[ChapterCost], reference: str) -> str:
    """A text table: per chapter and parameter file, time and memory, and the ratio to ``reference``."""
    by_key = {(c.params, c.chapter): c for c in costs}
    lines = [
        f"{'chapter':<18} {'params':<28} {'time s':>8} {'peak GB':>8} {'x time':>7} {'x mem':>6}"
    ]
    for chapter in dict.fromkeys(c.chapter for c in costs):
        base = by_key.get((reference, chapter))
        for cost in (c for c in costs if c.chapter == chapter):
            x_time = x_mem = "-"
            if base and cost.params != reference and base.seconds > 0 and base.peak_rss_gb > 0:
                x_time = f"{cost.seconds / base.seconds:.1f}"
                x_mem = f"{cost.peak_rss_gb / base.peak_rss_gb:.1f}"
            flag = "" if cost.returncode == 0 else f"  (failed, exit {cost.returncode})"
            lines.append(
                f"{chapter:<18} {Path(cost.params).name:<28} {cost.seconds:>8.1f} "
                f"{cost.peak_rss_gb:>8.2f} {x_time:>7} {x_mem:>6}{flag}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", nargs="+", default=["params/paper-rehearsal.yml"])
    parser.add_argument("--reference", default="params/default.yml", help="'' for none")
    parser.add_argument("--chapters", nargs="*", help="names or numbers, e.g. 01 02 (all if none)")
    parser.add_argument("--data-home", help="reuse this data home (default: a fresh one per file)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    chapters = chapter_names(args.chapters)
    files = ([args.reference] if args.reference else []) + args.params
    costs = []
    for params in files:
        if not (ROOT / params).is_file():
            raise SystemExit(f"no parameter file {params} (paths are relative to {ROOT})")
        home = args.data_home or tempfile.mkdtemp(prefix=f"bench-{Path(params).stem}-")
        env = {**os.environ, "ALICE_DATA_HOME": home, "PYTHONPATH": str(ROOT)}
        for chapter in chapters:
            cost = run_chapter(params, chapter, env)
            costs.append(cost)
            print(
                f"[bench] {params} {chapter}: {cost.seconds:.0f} s, {cost.peak_rss_gb} GB",
                flush=True,
            )
            if cost.returncode != 0:
                print(f"[bench] {chapter} failed; later chapters of {params} skipped", flush=True)
                break
    print(ratio_table(costs, args.reference))
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in costs], indent=2))
    return 0 if all(c.returncode == 0 for c in costs) else 1


if __name__ == "__main__":
    sys.exit(main())
