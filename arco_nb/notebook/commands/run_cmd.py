# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco run [SEL] [--partitions P] [--force] [--executor E]``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from arco_nb.catalog.vocabulary import state_word
from arco_nb.core.settings import EXECUTORS
from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.asset_magic import raise_if_failed
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("selection", nargs="*", help="name, +name, name+, tag:x, a,b (default: all).")
@argument("--partitions", "--partition", help="Keys or a range: 2024-01-01..2024-01-31.")
@argument("--force", action="store_true", help="Run every selected task, even up to date.")
@argument("--executor", choices=EXECUTORS, help="Default: %%config Arco.")
def command(session: Session, line: str, cell: str | None) -> Table:  # noqa: ARG001
    """Materialize the selected assets that are missing or stale."""
    args = parse_argstring(command, line)
    started = time.perf_counter()
    result = session.run(
        " ".join(args.selection) if args.selection else None,
        partitions=args.partitions,
        force=args.force,
        executor=args.executor,
        progress=True,
    )
    elapsed = time.perf_counter() - started
    session.changed()
    raise_if_failed(result)
    rows = []
    for task in result.plan.tasks:
        state = result.state.tasks[task.key]
        rows.append([task.label, state_word(state.status or ""), task.reason])
    ran = sum(1 for t in result.plan.tasks if t.will_run)
    return Table(
        ["task", "status", "reason"],
        rows,
        title=f"Run {result.run_id} {state_word(result.status)}",
        footer=f"{ran} materialized, {len(rows) - ran} up to date, in {elapsed * 1000:.0f} ms",
    )
