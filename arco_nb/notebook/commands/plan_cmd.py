# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco plan [SEL] [--partitions P] [--force]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


@magic_arguments()
@argument("selection", nargs="*", help="name, +name, name+, tag:x, a,b (default: all).")
@argument("--partitions", help="Keys or a range: 2024-01-01..2024-01-31.")
@argument("--force", action="store_true", help="Plan every selected task.")
def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """What a run would do, task by task, and why."""
    args = parse_argstring(command, line)
    plan = session.workspace.plan(
        " ".join(args.selection) if args.selection else None,
        partitions=args.partitions,
        force=args.force,
    )
    return Message(plan.explain())
