# SPDX-License-Identifier: Apache-2.0 OR MIT
"""SQL assets in the SQL sandbox (``Workspace(..., sandbox=True)``) attacked by one tenant.

``acme`` defines SQL assets that read ``globex``'s data and metadata files (by path, by S3 URL,
by ``..`` from its own directories, by glob, as a replacement scan), ``/etc/passwd``, and that
write (``COPY`` over globex's data and snapshot, ``ATTACH``, ``INSTALL``, ``SET``), on the
``inline`` and ``threads`` executors. Each such task must fail with ``QueryRefused`` in its
error and nothing of globex in it, while acme's assets that read only their upstream still
succeed, and nothing outside acme's own prefix changes. Last, the process-wide sandboxed DuckDB
that every tenant's SQL assets share must not show one tenant's inputs to another.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from arco_nb.flow.assets import AssetSpec, Registry, sql_asset
from arco_nb.flow.materialize import _duckdb
from tests.security.conftest import SECRETS, TwoTenants

UP_FROM_DATA = "../../../.."  # from acme's data/ to tenants/


def _forced(template: AssetSpec, name: str, code: str) -> AssetSpec:
    """A definition ``sql_asset`` would refuse (a COPY, a SET, a name it takes for a table):
    what a definition read back from a tampered catalog could hold."""
    return dataclasses.replace(template, name=name, code=code, deps=())


def attack_registry(t: TwoTenants) -> tuple[Registry, list[str], list[str]]:
    """acme's assets plus a legitimate one and the attacks; returns (registry, good, bad)."""
    registry = Registry(list(t.registries["acme"]))

    def their(pattern: str) -> str:
        return t.url("globex", t.key("globex", pattern))

    data = t.key("globex", "data/orders/_/*.parquet")
    theirs = t.url("globex", data)
    snapshot = t.url("globex", t.key("globex", "catalog/snapshots/*/assets.parquet"))
    up = f"{t.url('acme', 'data')}/{UP_FROM_DATA}/globex/workspaces/default/{data}"
    reads = {
        "peek_data": f"select * from read_parquet('{theirs}')",
        "peek_data_up": f"select * from read_parquet('{up}')",
        "peek_glob": f"select * from read_parquet('{t.root}/tenants/globex/**/*.parquet')",
        "peek_any_tenant": f"select * from read_parquet('{t.root}/tenants/*/workspaces/*/data/"
        "orders/_/*.parquet')",
        "peek_snapshot": f"select name, code from read_parquet('{snapshot}')",
        "peek_log": f"select * from read_json_auto('{their('catalog/_log/*.json')}')",
        "peek_inbox": f"select * from read_text('{their('events/inbox/*')}')",
        "peek_passwd": "select * from read_text('/etc/passwd')",
        "peek_environ": "select * from read_blob('/proc/self/environ')",
        "peek_mixed": "select customer from orders union all "
        f"select customer from read_parquet('{theirs}')",
    }
    if t.backend == "local":
        reads["peek_file_url"] = f"select * from read_parquet('file://{theirs}')"
    for name, code in reads.items():
        sql_asset(name, code, registry=registry)
    template = registry.get("peek_data")
    out = f"{t.outside}/written"
    writes = {
        "scan_by_name": f"select * from '{theirs}'",
        "copy_over_data": f"copy (select 1 as id) to '{theirs}' (format parquet)",
        "copy_over_code": f"copy (select 'select 42 as pwned' as code) to '{snapshot}' "
        "(format parquet)",
        "copy_outside": f"select 1 as x; copy (select 1 as x) to '{out}.csv'",
        "explain_copy": f"explain analyze copy (select 1 as x) to '{out}.csv'",
        "attach_theirs": f"attach '{t.url('globex', 'x.duckdb')}' as theirs",
        "install": "install httpfs",
        "unlock": "set lock_configuration = false; select 1 as x",
        "open_up": "set enable_external_access = true; select 1 as x",
    }
    for name, code in writes.items():
        registry.add(_forced(template, name, code))
    good = ["acme_big", "acme_regions"]
    sql_asset("acme_big", "select id, customer from orders where amount > 10", registry=registry)
    sql_asset("acme_regions", "select region, n from regional order by region", registry=registry)
    return registry, good, [*reads, *writes]


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_sandboxed_sql_assets_reach_only_their_upstream(
    two_tenants: TwoTenants, executor: str
) -> None:
    t = two_tenants
    registry, good, bad = attack_registry(t)
    acme = t.workspace("acme", sandbox=True, registry=registry)
    with t.changes_only_below(t.prefix("acme")):
        result = acme.run(",".join(good + bad), force=True, executor=executor)
    tasks = {asset: task for (asset, _), task in result.state.tasks.items()}
    assert {name: tasks[name].status for name in good} == dict.fromkeys(good, "succeeded")
    failures = {
        name: task.error
        for name in bad
        if not (
            (task := tasks[name]).status == "failed"
            and "QueryRefused" in task.error
            and SECRETS["globex"] not in task.error
        )
    }
    assert failures == {}
    assert set(acme.read("acme_big").column("customer").to_pylist()) == {SECRETS["acme"]}
    assert acme.read("acme_regions").column("region").to_pylist() == [
        "eu",
        "us",
    ]
    # globex's catalog still holds its own code, and its data its own rows.
    globex = t.workspace("globex")
    assert globex.sql("select count(*) from arco.assets where code like '%pwned%'").fetchall() == [
        (0,)
    ]
    assert set(globex.read("orders").column("customer").to_pylist()) == {SECRETS["globex"]}


def test_the_shared_sandboxed_engine_keeps_each_tenants_inputs_apart(
    two_tenants: TwoTenants,
) -> None:
    """Every SQL asset of the process runs on a cursor of one sandboxed DuckDB (on a Dask
    worker, every tenant's). globex's asset is mid-run: its inputs are registered on its
    cursor. acme's assets, by globex's table names, must see their own tables or none."""
    t = two_tenants
    secret = pa.table({"id": [1], "customer": [SECRETS["globex"]]})
    globex_cursor = _duckdb(sandbox=True).cursor()
    globex_cursor.register("orders", secret)
    globex_cursor.register("globex_orders", secret)
    try:
        registry = Registry(list(t.registries["acme"]))
        own = sql_asset("acme_orders_again", "select customer from orders", registry=registry)
        registry.add(_forced(own, "peek_cursor", "select customer from globex_orders"))
        views = "select view_name from duckdb_views() where not internal"
        registry.add(_forced(own, "peek_views", views))
        acme = t.workspace("acme", sandbox=True, registry=registry)
        with t.changes_only_below(t.prefix("acme")):
            result = acme.run("acme_orders_again,peek_cursor,peek_views", force=True)
    finally:
        globex_cursor.close()
    tasks = {asset: task for (asset, _), task in result.state.tasks.items()}
    assert tasks["acme_orders_again"].status == "succeeded"
    customers = acme.read("acme_orders_again").column("customer")
    assert set(customers.to_pylist()) == {SECRETS["acme"]}
    assert tasks["peek_cursor"].status == "failed"
    assert "globex_orders does not exist" in tasks["peek_cursor"].error
    assert tasks["peek_views"].status == "succeeded"
    assert "globex_orders" not in str(acme.read("peek_views").to_pylist())
