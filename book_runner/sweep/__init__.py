"""Parameter sweeps: run chapters over a grid of parameter sets, locally or on a Dask cluster.

A sweep file names a base parameter file, the chapters to run and the values to vary::

    base: ../default.yml            # relative to the sweep file
    chapters: [04_regression]
    grid:                           # dotted keys; the cartesian product of the value lists
      window.length: [6, 12, 24]
      features: [[roi_window, dfc]]
    combinations:                   # optional: extra parameter sets, added after the product
      - {window.length: 48, window.shape: tapered}
    overrides: {n_permutations: 0}  # optional: applied to every combination
    gather: {chapter: 04_regression, records: scores}   # what the tidy table is made of

Each combination gets its own folder ``<out>/<combination id>/`` holding ``overrides.json``, the
executed notebooks (``notebooks/``), the chapters' results (``results/``, the combination's own
``ALICE_RESULTS_DIR``), a log, and either ``done.json`` (the completion marker) or ``error.json``
(the chapter, cell and message that failed). A combination runs in its own process
(``python -m book_runner sweep run-one <folder>``), so concurrent runs never share a results folder or
an environment. The combinations are submitted to a ``concurrent.futures`` executor: a local thread
pool (each thread waits on one subprocess) by default, or a Dask cluster's executor
(``Client(address).get_executor()``) when a scheduler address is given; everything else is the same
code. On a cluster every worker must see the repository and the output folder at the same paths (a
shared file system) and have the project installed.

A failing combination is recorded and reported at the end; the others carry on. Re-running the same
command resumes: a combination whose ``done.json`` matches its parameters and chapter sources is
skipped. ``gather`` turns the finished combinations' result records into one tidy CSV, one row per
record, with the swept values as columns.

The sensitivity chapter uses :func:`helpers.decoding.sensitivity.sensitivity_scores`, a cheaper
"direct" mode that computes DFC-minus-ROI scores per combination in-process from the feature and
regression helpers, reusing the cached ROI time series and one kernel per feature set for every
model and scheme.
"""

from book_runner.sweep.combination import (
    DONE_FILE,
    ERROR_FILE,
    execute_combination,
    is_complete,
    run_combination,
)
from book_runner.sweep.gather import TABLE_FILE, gather
from book_runner.sweep.runner import SweepReport, open_executor, run_sweep
from book_runner.sweep.spec import Combination, SweepSpec, load_sweep

__all__ = [
    "DONE_FILE",
    "ERROR_FILE",
    "TABLE_FILE",
    "Combination",
    "SweepReport",
    "SweepSpec",
    "execute_combination",
    "gather",
    "is_complete",
    "load_sweep",
    "open_executor",
    "run_combination",
    "run_sweep",
]
