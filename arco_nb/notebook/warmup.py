# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Warm-up: the heavy modules a first ``%%asset`` cell needs, imported in the background after
``%load_ext arco`` returns, while the user writes that cell.

``%load_ext`` itself stays light, and a first cell written a moment later does not wait half a
second for DuckDB, pyarrow and polars. Every magic waits for the warm-up before it works, so
Arco never imports these modules from two threads at once; a module that fails to import here
is left for the cell that needs it to report, in one line.
"""

from __future__ import annotations

import contextlib
import importlib
import threading

__all__ = ["MODULES", "start", "wait"]

MODULES = (
    "duckdb",
    "pyarrow",
    "pyarrow.parquet",
    "pyarrow.json",
    "pyarrow.compute",
    "polars",
    "arco_nb.workspace",
    "arco_nb.flow.execute",
    "arco_nb.notebook.asset_magic",
)

_started: list[threading.Thread] = []  # at most one per process
_lock = threading.Lock()


def start() -> threading.Thread:
    """Start importing :data:`MODULES` in a background thread (once per process)."""
    with _lock:
        if not _started:
            # Not a daemon: a process that exits at once waits for the imports to finish
            # rather than tearing the interpreter down under a half-imported extension.
            thread = threading.Thread(target=_import_all, name="arco-warm-up")
            thread.start()
            _started.append(thread)
        return _started[0]


def wait() -> None:
    """Return once the warm-up, if one was started, is done."""
    for thread in _started:
        if thread is not threading.current_thread():
            thread.join()


def _import_all() -> None:
    for name in MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
