# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Where task bodies run: here (``inline``), on ``threads``, or on a ``dask`` cluster.

Every executor offers the same three calls (:class:`Executor`); the scheduler in
:mod:`arco_nb.flow.execute` needs nothing else, so each runs the same plan into the same
records. :data:`EXECUTORS` is the one list of their names: the CLI's choices, the notebook's
``%config Arco.executor`` and ``%arco run --executor`` all read it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from arco_nb.core.errors import ConfigError
from arco_nb.core.settings import DEFAULT_EXECUTOR, EXECUTORS, ExecutorName, executor_name

__all__ = [
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ExecutorName",
    "InlineExecutor",
    "ThreadsExecutor",
    "dask_client",
    "make_executor",
]


class Executor(Protocol):
    """What the scheduler asks of an executor."""

    name: ExecutorName

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Start ``fn(*args, **kwargs)``; return a future (``done()``, ``result()``)."""

    def wait(self, futures: list[Any], timeout: float | None) -> list[Any]:
        """The futures that are done, waiting up to ``timeout`` seconds for the first."""

    def close(self, *, wait: bool = True) -> None:
        """Release the workers; ``wait=False`` after Ctrl-C (running results are ignored)."""


class InlineExecutor:
    """Runs each task when it is submitted, in this thread, in plan order."""

    name: ExecutorName = "inline"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the scheduler records the user's failure
            done.set_exception(exc)
        return done

    def wait(self, futures: list[Any], timeout: float | None) -> list[Any]:  # noqa: ARG002
        return [f for f in futures if f.done()]

    def close(self, *, wait: bool = True) -> None:
        pass


class ThreadsExecutor:
    """Independent tasks in parallel on ``max_workers`` threads (default: CPUs, at most 8)."""

    name: ExecutorName = "threads"

    def __init__(self, max_workers: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers or min(8, os.cpu_count() or 2))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._pool.submit(fn, *args, **kwargs)

    def wait(self, futures: list[Any], timeout: float | None) -> list[Any]:
        done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def close(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask cluster through a ``distributed.Client``; workers read the store."""

    name: ExecutorName = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self.client.submit(fn, *args, pure=False, **kwargs)

    def wait(self, futures: list[Any], timeout: float | None) -> list[Any]:
        from distributed import wait as dask_wait

        with contextlib.suppress(TimeoutError):
            dask_wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        return [f for f in futures if f.done()]

    def close(self, *, wait: bool = True) -> None:
        pass  # the client belongs to whoever made it


def make_executor(name: str, *, max_workers: int | None = None, client: Any = None) -> Executor:
    """The executor called ``name``; ``dask`` needs ``client`` (see :func:`dask_client`).

    Raises
    ------
    ConfigError
        An unknown name, or ``dask`` without a client.
    """
    kind = executor_name(name)
    if kind == "threads":
        return ThreadsExecutor(max_workers)
    if kind == "dask":
        if client is None:
            raise ConfigError("The dask executor needs a client", hint="Pass client= or scheduler=")
        return DaskExecutor(client)
    return InlineExecutor()


def dask_client(scheduler: str | None) -> Any:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``Workspace.run`` passes
    ``ARCO_DASK_SCHEDULER`` when no address is given).

    Raises
    ------
    ConfigError
        No address, ``distributed`` missing, or the scheduler cannot be reached.
    """
    address = scheduler
    if not address:
        raise ConfigError(
            "The dask executor needs a scheduler",
            hint="Pass scheduler='tcp://host:8786' or client=..., or set ARCO_DASK_SCHEDULER",
        )
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(
            "The dask executor needs distributed", hint="pip install 'arco-nb[dask]'"
        ) from exc
    try:
        return Client(address, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, TimeoutError) as exc:
        raise ConfigError(
            f"Cannot reach the Dask scheduler at {address!r}: {exc}",
            hint="Check the address (tcp://host:8786) and that the scheduler is running",
        ) from None
