# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco sql QUERY`` and ``%%arco sql``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


def command(session: Session, line: str, cell: str | None) -> Any:
    """Run read-only DuckDB SQL over the ``arco.*`` views; the result is a polars DataFrame."""
    query = "\n".join(part for part in (line, cell) if part and part.strip())
    if not query.strip():
        raise UsageError("%arco sql needs a query, e.g. %arco sql select * from arco.runs")
    # Sandboxed and read-only: a refused statement or a SQL error is an ArcoError, which the
    # magic boundary turns into one line.
    return session.workspace.sql(query).pl()
