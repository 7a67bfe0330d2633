# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco sql QUERY`` and ``%%arco sql``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session


def command(session: Session, line: str, cell: str | None) -> Any:
    """Run DuckDB SQL over the ``arco.*`` views; the result is a polars DataFrame."""
    query = "\n".join(part for part in (line, cell) if part and part.strip())
    if not query.strip():
        raise UsageError("%arco sql needs a query, e.g. %arco sql select * from arco.runs")
    import duckdb

    try:
        relation = session.workspace.sql(query)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"{first} (the views are listed by: select * from arco.views)") from None
    return relation.pl()
