# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco sql`` over asset tables, and JupySQL's ``NAME <<`` result binding."""

from __future__ import annotations

import polars as pl
import pytest
from IPython.core.error import UsageError

from tests.notebook.conftest import TestingShell


@pytest.fixture
def assets(ip: TestingShell) -> TestingShell:
    ip.run_cell("%%asset raw\nselect * from range(5) t(x)")
    ip.run_cell(
        "%%asset daily --partitions static:eu,us\n"
        "select getvariable('partition_key') as region, x from raw"
    )
    return ip


def test_assets_are_tables_by_name(assets: TestingShell) -> None:
    frame = assets.out("%arco sql select x from raw where x > 2 order by x")
    assert isinstance(frame, pl.DataFrame)
    assert frame["x"].to_list() == [3, 4]
    eu = assets.out("%%arco sql\nselect count(*) as n from daily\nwhere partition = 'eu'")
    assert eu.item() == 5
    joined = assets.out(
        "%arco sql select count(*) from daily d join arco.materializations m "
        "on m.asset = 'daily' and m.partition = d.partition"
    )
    assert joined.item() == 10


def test_cell_form_binds_the_result(assets: TestingShell) -> None:
    shown = assets.out("%%arco sql result <<\nselect partition, count(*) n from daily group by 1")
    bound = assets.user_ns["result"]
    assert isinstance(bound, pl.DataFrame)
    assert bound is shown  # the same frame is displayed and bound
    assert sorted(bound.rows()) == [("eu", 5), ("us", 5)]


def test_line_form_binds_the_result(assets: TestingShell) -> None:
    shown = assets.out("%arco sql total << select sum(x) as s from raw")
    assert assets.user_ns["total"].item() == 10
    assert shown.item() == 10
    # The query may start on the line and go on in the cell.
    assets.run_cell("%%arco sql big << select x from raw\nwhere x >= 3")
    assert assets.user_ns["big"]["x"].to_list() == [3, 4]
    # A shift operator in the query is not a binding.
    assert assets.out("%arco sql select 1 << 2 as n").item() == 4


def test_binding_errors_are_one_line(assets: TestingShell) -> None:
    with pytest.raises(UsageError, match=r"%arco sql result << needs a query"):
        assets.run_cell("%%arco sql result <<\n   ")
    with pytest.raises(UsageError, match="Python keyword"):
        assets.run_cell("%arco sql class << select 1")
    with pytest.raises(UsageError) as info:
        assets.run_cell("%%arco sql out <<\nselect * from rawx")
    expected = "No table or asset named 'rawx' in this workspace. Did you mean 'raw'?"
    assert str(info.value) == expected
    assert "out" not in assets.user_ns  # nothing is bound when the query fails


def test_an_asset_defined_but_not_run_says_so(ip: TestingShell) -> None:
    ip.run_cell("%%asset later --no-run\nselect 1 as x")
    with pytest.raises(UsageError, match="'later' has no materialization yet") as info:
        ip.run_cell("%arco sql select * from later")
    assert "\n" not in str(info.value)
