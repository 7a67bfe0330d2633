# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco help``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb._version import __version__
from arco_nb.notebook.commands import COMMANDS
from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """List the commands."""
    lines = [
        f"Arco {__version__}: notebook-first data catalog and asset orchestrator.",
        f"Metadata: {session.where()}",
        "",
        "%%asset NAME [--deps a,b] [--sql|--python] [--partitions SPEC] [--description TEXT]",
        "             [--tags a,b] [--retries N] [--no-run]",
        "                                         define (and materialize) the asset in the cell",
        "",
        *(f"%arco {usage}" for usage in COMMANDS.values()),
        "",
        "Settings: %config Arco  (root, tenant, workspace, executor, preview_rows)",
    ]
    return Message("\n".join(lines))
