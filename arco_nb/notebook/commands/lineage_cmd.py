# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco lineage NAME [--up N] [--down N]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.lineage_view import LineageView

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("name", help="The asset at the centre.")
@argument("--up", type=int, default=2, help="Hops upstream.")
@argument("--down", type=int, default=2, help="Hops downstream.")
def command(session: Session, line: str, cell: str | None) -> LineageView:  # noqa: ARG001
    """The lineage graph around NAME, coloured by each asset's last status."""
    args = parse_argstring(command, line)
    return LineageView(session.workspace.lineage(args.name, up=args.up, down=args.down))
