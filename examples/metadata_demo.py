# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tour of Arco's metadata layer against ./.arco: catalog commits, time travel, facts, SQL.

Run by `make demo` after the storage tour. Each run adds a catalog version and a run's facts,
so running it twice shows history growing.
"""

from __future__ import annotations

import sys

import pyarrow as pa

import arco_nb as arco
from arco_nb.catalog.events import Event
from arco_nb.core.ids import new_id


def main(root: str = "./.arco") -> int:
    ws = arco.Workspace(root, tenant="demo")
    catalog = ws.catalog
    print(f"\nArco {arco.__version__} metadata demo on {ws.scope.url}")

    if "sales" not in catalog.list_namespaces():
        catalog.create_namespace("sales", description="Demo sales data")
    schema = pa.schema([("id", pa.int64()), ("amount", pa.float64())])
    if not catalog.table_exists("sales.orders"):
        catalog.create_table("sales.orders", schema, description="Orders", tags=["demo"])
    else:
        runs = len(catalog.load_table("sales.orders").tags)
        catalog.alter_table("sales.orders", tags=[f"demo-{i}" for i in range(runs + 1)])
    print(f"catalog is at version {catalog.version}; last commits:")
    for record in catalog.history()[-3:]:
        print(f"  v{record.version}  {record.author:<10} {record.describe()}")
    if catalog.version >= 2:
        print(catalog.diff(catalog.version - 1, catalog.version))

    run_id = new_id()
    ws.events.append(Event.create("run", run_id=run_id, status="queued", executor="demo"))
    ws.events.append(Event.create("run", run_id=run_id, status="running"))
    ws.events.append(Event.create("run", run_id=run_id, status="succeeded"))
    result = ws.compact()
    print(f"\ncompaction {result.seq}: {result.events} events -> {result.parts_written} part(s)")

    print("\nselect status, count(*) from arco.runs group by status")
    for status, count in ws.sql(
        "select status, count(*) from arco.runs group by status"
    ).fetchall():
        print(f"  {status:<10} {count}")
    columns = ws.sql("select table_name, name, type from arco.columns order by position").fetchall()
    print("\narco.columns:", ", ".join(f"{t}.{n} {ty}" for t, n, ty in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
