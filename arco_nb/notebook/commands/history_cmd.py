# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco history [--limit N]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.catalog.vocabulary import plural
from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("--limit", type=int, default=20, help="How many versions (newest first).")
def command(session: Session, line: str, cell: str | None) -> Table:  # noqa: ARG001
    """Catalog versions: when, by whom, and what changed."""
    args = parse_argstring(command, line)
    history = session.workspace.catalog.history()
    shown = list(reversed(history))[: max(args.limit, 0)]
    rows = [
        [
            c.version,
            c.created_at,
            c.author,
            "; ".join(f"{op.op} {', '.join(op.targets())}" for op in c.operations),
        ]
        for c in shown
    ]
    return Table(
        ["version", "committed at", "author", "changes"],
        rows,
        footer=f"{len(shown)} of {plural(len(history), 'version')}",
    )
