# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco explain NAME [--partitions P]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("name", help="The asset.")
@argument("--partitions", help="Keys or a range: 2024-01-01..2024-01-31.")
def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """Why the asset would run, or be skipped as up to date."""
    args = parse_argstring(command, line)
    return Message(session.workspace.explain(args.name, partitions=args.partitions))
