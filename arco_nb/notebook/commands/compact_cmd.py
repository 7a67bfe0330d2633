# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco compact``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.display import Message

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


def command(session: Session, line: str, cell: str | None) -> Message:  # noqa: ARG001
    """Compact the event inbox into Parquet (and collect what the grace period allows)."""
    if line.strip():
        from IPython.core.error import UsageError

        raise UsageError(f"%arco compact takes no arguments, not {line.strip()!r}")
    return Message(session.workspace.compact().describe())
