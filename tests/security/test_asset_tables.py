# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Asset tables in ``ws.sql`` (ADR 0024) attacked by one tenant, on every backend.

Both tenants have assets of the same names (``orders``, ``regional``, ``totals``): each must see
its own data under them. A name that only another tenant (or another workspace) has is no table,
whatever the attacker's own definitions say. The views name only the tenant's own files, and
queries that mix an asset table with a read of another tenant's files are still refused.
"""

from __future__ import annotations

import os
import uuid

import pytest

from arco_nb import QueryError, QueryRefused, Registry, Workspace
from arco_nb.flow.assets import sql_asset
from tests.security.conftest import ASSETS, SECRETS, TENANTS, TwoTenants
from tests.security.test_metadata_sql import GLOBEX, UP, refused


@pytest.mark.parametrize("tenant", TENANTS)
def test_each_tenant_sees_its_own_data_under_the_same_names(
    two_tenants: TwoTenants, tenant: str
) -> None:
    t = two_tenants
    other = next(x for x in TENANTS if x != tenant)
    ws = t.workspace(tenant)  # a fresh connection, nothing bound yet
    with t.untouched():
        orders = str(ws.sql("select * from orders").fetchall())
        regional = ws.sql("select partition, region from regional order by 1").fetchall()
        listed = str(ws.sql("select * from information_schema.tables").fetchall())
        totals = ws.sql("select * from totals").fetchall()
    assert SECRETS[tenant] in orders
    assert SECRETS[other] not in orders + listed
    assert regional == [("eu", "eu"), ("us", "us")]
    assert totals == [(60.0,)]
    assert all(f"'{name}'" in listed for name in ASSETS)


def test_an_asset_of_another_tenant_or_workspace_is_no_table(two_tenants: TwoTenants) -> None:
    t = two_tenants
    scratch = f"scratch-{uuid.uuid4().hex[:8]}"
    registry = Registry()
    victim = t.workspace("globex", scratch, registry=registry)
    with t.changes_only_below(t.prefix("globex", scratch)):
        sql_asset("globex_only", f"select '{SECRETS['globex']}' as secret", registry=registry)
        assert victim.run().status == "succeeded"
    assert SECRETS["globex"] in str(victim.sql("select * from globex_only").fetchall())
    # The attacker defines an asset of the same name (a shared registry in one process would
    # too): defined here, it has no data here, and that is all it learns.
    mine = Registry()
    sql_asset("globex_only", "select 1 as x", registry=mine)
    attackers = [
        t.workspace("acme"),
        t.workspace("acme", scratch),  # the same workspace name, in its own tenant
        t.workspace("globex"),  # the victim's own tenant, another workspace
    ]
    with t.untouched():
        for ws in attackers:
            for query in ["select * from globex_only", "show tables"]:
                try:
                    rows = str(ws.sql(query).fetchall())
                except QueryError as exc:
                    message = str(exc)
                    assert "No table or asset named 'globex_only'" in message
                    assert SECRETS["globex"] not in message
                    assert "\n" not in message
                else:
                    assert query == "show tables"
                    assert "globex_only" not in rows
        defined = t.workspace("acme", registry=mine)
        with pytest.raises(QueryError, match="'globex_only' has no materialization yet"):
            defined.sql("select * from globex_only")


def test_asset_views_name_only_the_tenants_own_files(two_tenants: TwoTenants) -> None:
    t = two_tenants
    ws = t.workspace("acme")
    with t.untouched():
        ws.sql("show tables").fetchall()  # binds every asset table
        views = ws._sql.con.execute(
            "select view_name, sql from duckdb_views() "
            "where schema_name = 'main' and not internal and view_name not like '\\_arco\\_%' "
            "escape '\\'"
        ).fetchall()
    assert sorted(name for name, _ in views) == sorted(ASSETS)
    own = t.prefix("acme")
    for _, sql in views:
        assert "globex" not in sql
        if t.backend == "local":
            assert own in sql  # DuckDB reads the files; elsewhere it scans what Arco reads
        else:
            assert "read_parquet" not in sql


def test_asset_tables_open_no_way_to_other_files(two_tenants: TwoTenants) -> None:
    t = two_tenants
    theirs = t.url("globex", t.key("globex", "data/orders/_/*.parquet"))
    up_from_data = "/".join([".."] * 4)
    through_own = (
        f"{t.url('acme', 'data')}/{up_from_data}/{GLOBEX}/" + theirs.split("workspaces/default/")[1]
    )
    if t.backend == "local":  # the traversal names a real file: the refusal is about reach
        assert os.path.exists(os.path.normpath(through_own))
    queries = [
        f"select * from orders, read_parquet('{theirs}')",
        f"select * from orders where exists (from read_blob('{theirs}'))",
        f"select * from orders union all by name select * from read_parquet('{through_own}')",
        f"with orders as (select * from read_parquet('{theirs}')) select * from orders",
        "select * from orders where exists (from read_text('/etc/passwd'))",
        f"select * from read_parquet('{t.url('acme', 'data')}/orders/{UP}/{GLOBEX}/data/**')",
    ]
    missing = [
        'select * from "globex.orders"',
        'select * from "../globex/orders"',
        "select * from globex.main.orders",
        "select * from globex.orders",
    ]
    with t.untouched():
        assert refused(t.acme, queries) == {}
        assert refused(t.acme, missing, QueryRefused, QueryError) == {}


def test_a_fresh_workspace_object_of_another_tenant_shares_nothing(
    two_tenants: TwoTenants,
) -> None:
    """Two workspaces in one process have two engines: what one bound, the other never sees."""
    t = two_tenants
    acme: Workspace = t.workspace("acme")
    globex: Workspace = t.workspace("globex")
    with t.untouched():
        assert SECRETS["acme"] in str(acme.sql("select customer from orders").fetchall())
        theirs = str(globex.sql("select customer from orders").fetchall())
        assert SECRETS["globex"] in theirs
        assert SECRETS["acme"] not in theirs
        assert SECRETS["globex"] not in str(acme.sql("select customer from orders").fetchall())
