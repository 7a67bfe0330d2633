# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco runs [NAME] [--limit N]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.catalog.vocabulary import plural, state_word
from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("name", nargs="?", help="Only runs that had a task for this asset.")
@argument("--limit", type=int, default=20, help="How many (newest first).")
def command(session: Session, line: str, cell: str | None) -> Table:  # noqa: ARG001
    """Recent runs with their status, tasks and failures."""
    args = parse_argstring(command, line)
    if args.name:
        session.workspace.registry.get(args.name)  # AssetNotFound, with close matches
    runs = session.workspace.runs(asset=args.name or None, limit=max(int(args.limit), 0))
    rows = [
        [
            r.run_id,
            state_word(r.status),
            r.queued_at,
            r.materialized,
            r.up_to_date,
            ", ".join(r.failed),
        ]
        for r in runs
    ]
    return Table(
        ["run", "status", "queued at", "materialized", "up to date", "failed"],
        rows,
        footer=plural(len(rows), "run") + (f" of {args.name}" if args.name else ""),
    )
