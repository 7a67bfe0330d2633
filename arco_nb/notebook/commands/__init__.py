# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco`` subcommands, one module each. Every module has ``command(session, line, cell)``
decorated with ``@magic_arguments`` (its ``--help`` and errors come from there)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session

__all__ = ["COMMANDS", "load"]

#: name -> one line of help, in the order ``%arco help`` lists them
COMMANDS: dict[str, str] = {
    "use": "use [ROOT] [--tenant T] [--workspace W] switch root, tenant or workspace",
    "assets": "assets                                 defined assets and their latest state",
    "plan": "plan [SEL] [--partitions P] [--force]  what a run would do, and why",
    "run": "run [SEL] [--partitions P] [--force]   materialize what is missing or stale",
    "runs": "runs [NAME] [--limit N]                recent runs (of one asset)",
    "explain": "explain NAME [--partitions P]          why NAME would run or be skipped",
    "lineage": "lineage NAME [--up N] [--down N]       lineage graph around NAME",
    "catalog": "catalog                                the catalog browser",
    "sql": "sql [NAME <<] QUERY  (or %%arco sql)   SQL over the assets and arco.* views",
    "history": "history [--limit N]                    catalog versions, newest first",
    "compact": "compact                                compact the event log into Parquet",
    "help": "help                                   this list",
}


def load(name: str) -> Callable[[Session, str, str | None], Any]:
    """The ``command`` function of subcommand ``name``."""
    module = importlib.import_module(f"arco_nb.notebook.commands.{name}_cmd")
    fn: Callable[[Session, str, str | None], Any] = module.command
    return fn
