# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The catalog browser, driven through its traits as a user's clicks would."""

from __future__ import annotations

import pyarrow as pa
import pytest

import arco_nb
from arco_nb import Workspace
from arco_nb.flow.assets import Registry, sql_asset
from arco_nb.notebook.browser import CatalogBrowser
from tests.notebook.conftest import TestingShell


@pytest.fixture
def ws(root: str, registry: Registry) -> Workspace:
    ws = Workspace(root, registry=registry)
    sql_asset("orders", "select * from range(3) t(id)", tags=["sales"], registry=registry)
    sql_asset("orders_clean", "select id from orders where id > 0", registry=registry)
    ws.run()
    ws.catalog.create_namespace("crm")
    ws.catalog.create_table(
        "crm.customers", pa.schema([("id", pa.int64())]), description="From the CRM"
    )
    return ws


def test_lists_assets_and_tables(ws: Workspace) -> None:
    browser = CatalogBrowser(ws)
    assert browser.visible == ["orders", "orders_clean", "crm.customers"]
    labels = [label for label, _ in browser.listing.options]
    assert labels[0].startswith("orders  ·  sql  ·  3 rows  ·  materialized  ·  ")
    assert labels[2] == "crm.customers  ·  table"
    assert "3 of 2 assets and 1 table shown" in browser.summary.value
    assert "Select an asset or table" in browser.panes["Schema"].value


def test_search_filters_by_name_kind_tag_and_status(ws: Workspace) -> None:
    browser = CatalogBrowser(ws)
    browser.search.value = "clean"
    assert browser.visible == ["orders_clean"]
    browser.search.value = "table"
    assert browser.visible == ["crm.customers"]
    browser.search.value = "sales"
    assert browser.visible == ["orders"]
    browser.search.value = "ORDERS materialized"
    assert browser.visible == ["orders", "orders_clean"]
    browser.search.value = "never materialized"
    assert browser.visible == [], "a table registered directly has no status"
    browser.search.value = "nothing-like-this"
    assert browser.visible == []
    assert CatalogBrowser(ws, search="crm").visible == ["crm.customers"]


def test_selecting_fills_the_tabs(ws: Workspace) -> None:
    browser = CatalogBrowser(ws)
    browser.listing.value = "orders_clean"
    panes = {k: v.value for k, v in browser.panes.items()}
    assert "<td>id</td><td>int64</td>" in panes["Schema"]
    assert "First 2 of 2 rows" in panes["Preview"]
    assert "<td>succeeded</td>" in panes["Runs"]
    assert "<svg" in panes["Lineage"]
    browser.listing.value = "crm.customers"
    assert "From the CRM" in browser.panes["Schema"].value
    assert "No data materialized by Arco" in browser.panes["Preview"].value
    assert "no runs" in browser.panes["Runs"].value


def test_selection_survives_a_search_that_keeps_it(ws: Workspace) -> None:
    browser = CatalogBrowser(ws)
    browser.listing.value = "orders"
    browser.search.value = "ord"
    assert browser.listing.value == "orders"


def test_browse_is_public(ws: Workspace) -> None:
    assert arco_nb.browse(ws).visible == ["orders", "orders_clean", "crm.customers"]


def test_it_updates_when_a_cell_materializes(ip: TestingShell) -> None:
    ip.run_cell("%%asset first\nselect 1 as x")
    browser = ip.out("%arco catalog")
    assert browser.visible == ["first"]
    ip.run_cell("%%asset second\nselect x + 1 as y from first")
    assert browser.visible == ["first", "second"]
    assert "CatalogBrowser(2 entries" in repr(browser)
