# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco sql QUERY`` and ``%%arco sql``, with JupySQL's ``NAME <<`` to keep the result."""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session

# JupySQL's result binding: `%%arco sql result <<` (query in the cell) or
# `%arco sql result << select ...`. A SQL statement never starts with `name <<`.
_BIND = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*<<(.*)", re.DOTALL)


def command(session: Session, line: str, cell: str | None) -> Any:
    """Run read-only DuckDB SQL over the workspace's assets (each a table named after it) and
    its ``arco.*`` metadata views; the result is a polars DataFrame.

    ``%%arco sql NAME <<`` (or ``%arco sql NAME << QUERY``) also binds the result to ``NAME``
    in the notebook, as JupySQL's ``%%sql NAME <<`` does.
    """
    target = None
    if (bind := _BIND.fullmatch(line)) is not None:
        target, line = bind.group(1), bind.group(2)
        if keyword.iskeyword(target):
            raise UsageError(f"{target!r} is a Python keyword; bind the result to another name")
    query = "\n".join(part for part in (line, cell) if part and part.strip())
    if not query.strip():
        raise UsageError(
            "%arco sql needs a query, e.g. %arco sql select * from arco.runs"
            if target is None
            else f"%arco sql {target} << needs a query after it, or in the cell below"
        )
    # Sandboxed and read-only: a refused statement or a SQL error is an ArcoError, which the
    # magic boundary turns into one line.
    frame = session.workspace.sql(query).pl()
    if target is not None:
        session.shell.user_ns[target] = frame
    return frame
