"""Outer folds on a Dask cluster: the same fold function, run by workers instead of this process.

A chapter at the paper's size spends its time in independent outer folds, so they are what a
cluster takes. The arrays every fold reads (features, targets, null targets) are sent to each
worker once; a worker builds its fold's kernel itself, since a kernel is as large as the fold's
samples squared. ``scheduler`` is ``"local"`` (a :class:`~dask.distributed.LocalCluster` of
``workers`` processes with one thread each, for a workstation) or the address of a running
scheduler (``tcp://host:8786``, e.g. one that ``dask-jobqueue`` started on an HPC cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["ClusterError", "dask_client", "map_on_cluster"]

LOCAL = "local"
CONNECT_TIMEOUT_S = 30.0
"""How long to try to reach a scheduler address before saying it cannot be reached."""


class ClusterError(RuntimeError):
    """The folds cannot go to the cluster: no dask.distributed, or no scheduler at the address."""


@contextmanager
def dask_client(
    scheduler: str,
    workers: int = 2,
    timeout: float | None = None,
    setting: str = "cv_options.scheduler",
) -> Iterator[Any]:
    """A Dask client of ``scheduler`` (``"local"`` or an address), closed on exit.

    ``timeout`` (default :data:`CONNECT_TIMEOUT_S`) bounds the wait for an address;
    ``setting`` is what the error message tells the user to check.
    """
    try:  # deferred: dask.distributed is heavy, and only a cluster run needs it
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - installed with the test and distributed extras
        raise ClusterError(
            f"{setting} needs dask.distributed: pip install 'dask[distributed]'"
        ) from exc
    if scheduler == LOCAL:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S if timeout is None else timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}); check "
                f"{setting} (tcp://host:8786, or 'local') and that the scheduler runs"
            ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_on_cluster(
    function: Callable[..., Any],
    tasks: Sequence[Any],
    shared: Sequence[Any],
    scheduler: str,
    workers: int = 2,
    on_done: Callable[[], None] | None = None,
) -> list[Any]:
    """``[function(task, *shared) for task in tasks]``, computed by the workers of ``scheduler``.

    Parameters
    ----------
    function : a module-level function (workers import it by name).
    tasks : one argument per call (e.g. one outer fold each).
    shared : arguments every call reads; each is sent to every worker once.
    scheduler : ``"local"`` or a scheduler address.
    workers : processes of the local cluster (ignored for an address).
    on_done : called once per finished task, in any order (a progress bar).

    Returns
    -------
    list
        The results in the order of ``tasks``.
    """
    with dask_client(scheduler, workers) as client:
        sent = client.scatter(list(shared), broadcast=True)
        futures = [client.submit(function, task, *sent, pure=False) for task in tasks]
        if on_done is not None:
            from dask.distributed import as_completed

            for _ in as_completed(futures):
                on_done()
        return client.gather(futures)
