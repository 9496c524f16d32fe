"""Local workers die with their parent: a plain process pool's do not (the control)."""

from __future__ import annotations

import json
import subprocess
import sys

import psutil
import pytest
from conftest import ROOT

SCRIPT = """
import concurrent.futures as cf, json, sys, time
from book_runner.process_pool import worker_pool

if __name__ == "__main__":
    guarded = sys.argv[1] == "guarded"
    context = worker_pool(2) if guarded else cf.ProcessPoolExecutor(2)
    with context as pool:
        futures = [pool.submit(time.sleep, 60) for _ in range(4)]
        time.sleep(1.0)
        print(json.dumps([p.pid for p in pool._processes.values()]), flush=True)
        time.sleep(60)
"""


def _workers_after_killing_the_parent(kind: str) -> list[psutil.Process]:
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, kind], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    workers = [psutil.Process(pid) for pid in json.loads(parent.stdout.readline())]
    assert len(workers) == 2
    parent.kill()
    parent.wait(timeout=10)
    _, alive = psutil.wait_procs(workers, timeout=5)
    for worker in alive:
        worker.kill()
    return alive


@pytest.mark.parametrize(("kind", "survivors"), [("guarded", 0), ("plain", 2)])
def test_workers_of_a_killed_parent(kind: str, survivors: int) -> None:
    assert len(_workers_after_killing_the_parent(kind)) == survivors
