# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco runs [NAME] [--limit N]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    from arco_nb.notebook.session import Session

_QUERY = """
select r.run_id, r.status, r.queued_at,
       count(t.asset) filter (where t.status = 'succeeded') as materialized,
       count(t.asset) filter (where t.status = 'up_to_date') as up_to_date,
       string_agg(distinct t.asset, ', ' order by t.asset) filter (where t.status = 'failed')
from arco.runs r left join arco.task_runs t using (run_id)
{where}
group by all order by r.queued_at desc, r.run_id desc
limit {limit}
"""


@magic_arguments()
@argument("name", nargs="?", help="Only runs that had a task for this asset.")
@argument("--limit", type=int, default=20, help="How many (newest first).")
def command(session: Session, line: str, cell: str | None) -> Table:  # noqa: ARG001
    """Recent runs with their status, tasks and failures."""
    from arco_nb.flow.assets import default_registry

    args = parse_argstring(command, line)
    where = ""
    if args.name:
        default_registry.get(args.name)  # AssetNotFound, with close matches
        quoted = args.name.replace("'", "''")
        where = f"where r.run_id in (select run_id from arco.task_runs where asset = '{quoted}')"
    rows = session.workspace.sql(
        _QUERY.format(where=where, limit=max(int(args.limit), 0))
    ).fetchall()
    return Table(
        ["run", "status", "queued at", "materialized", "up to date", "failed"],
        rows,
        footer=f"{len(rows)} runs" + (f" of {args.name}" if args.name else ""),
    )
