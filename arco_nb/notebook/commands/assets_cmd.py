# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco assets``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.catalog.vocabulary import asset_word, plural
from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("--tag", help="Only assets with this tag.")
def command(session: Session, line: str, cell: str | None) -> Table:  # noqa: ARG001
    """Defined assets with their status, rows and latest materialization time."""
    args = parse_argstring(command, line)
    infos = [i for i in session.workspace.assets() if not args.tag or args.tag in i.tags]
    rows = [
        [
            i.name,
            i.kind,
            i.deps,
            i.partitions,
            asset_word(i.status, materialized=i.last_materialized is not None),
            i.rows,
            i.last_materialized,
        ]
        for i in infos
    ]
    return Table(
        ["asset", "kind", "deps", "partitions", "status", "rows", "last materialized"],
        rows,
        footer=plural(len(rows), "asset"),
    )
