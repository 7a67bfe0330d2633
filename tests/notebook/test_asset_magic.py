# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%%asset``: every flag, the preview, re-runs, restarts and errors."""

from __future__ import annotations

import polars as pl
import pytest
from IPython.core.error import UsageError

from arco_nb import Workspace
from arco_nb.flow.assets import default_registry
from tests.notebook.conftest import TestingShell

ORDERS = """%%asset orders --python
import polars as pl
pl.DataFrame({"id": [1, 2, 3], "amount": [10.0, -5.0, 7.5]})
"""


def test_a_sql_cell_materializes_previews_and_binds(ip: TestingShell, root: str) -> None:
    ip.run_cell(ORDERS)
    preview = ip.out("%%asset orders_clean\nSELECT * FROM orders WHERE amount > 0")
    text = repr(preview)
    assert text.startswith("orders_clean: materialized, 2 rows in ")
    assert f"(run {preview.run_id})" in text
    assert "Up to date, skipped: orders" in text
    assert "amount  double" in text, "the schema"
    assert "First 2 of 2 rows" in text
    html = preview._repr_html_()
    assert "<table" in html
    assert "orders_clean: materialized" in html
    bound = ip.user_ns["orders_clean"]
    assert isinstance(bound, pl.DataFrame)
    assert bound["id"].to_list() == [1, 3]
    ws = Workspace(root)
    record = ws.catalog.load_asset("orders_clean")
    assert (record.kind, record.deps) == ("sql", ("orders",))
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(2,)]


def test_a_cell_records_only_what_it_ran_and_read(ip: TestingShell, root: str) -> None:
    """A cell plans all of its upstream assets, but its run records only the tasks that ran
    and the up-to-date ones they read: a long session's cells do not grow with its age."""
    ip.run_cell("%%asset c0\nselect 1 as x")
    for i in range(1, 5):
        ip.run_cell(f"%%asset c{i}\nselect x + 1 as x from c{i - 1}")
    preview = ip.out("%%asset c4\nselect x + 2 as x from c3")
    assert "Up to date, skipped: c3" in repr(preview)
    ws = Workspace(root)
    tasks = {(t.asset, t.status) for t in ws.tasks(preview.run_id)}
    assert tasks == {("c3", "up_to_date"), ("c4", "succeeded")}
    ip.run_cell("%%asset c1\nselect x + 10 as x from c0")  # c1 changed: its cell runs c1 alone
    assert ip.user_ns["c1"]["x"].to_list() == [11]
    fresh = ip.out("%%asset c4\nselect x + 2 as x from c3")  # now c2, c3 and c4 are stale
    ran = {t.asset: t.status for t in ws.tasks(fresh.run_id)}
    assert ran == {"c1": "up_to_date", "c2": "succeeded", "c3": "succeeded", "c4": "succeeded"}
    assert ip.user_ns["c4"]["x"].to_list() == [15]


def test_an_unchanged_cell_is_skipped_and_says_so(ip: TestingShell, root: str) -> None:
    ip.run_cell(ORDERS)
    again = repr(ip.out(ORDERS))
    assert again.startswith("orders is up to date: skipped, 3 rows")
    assert "(run" not in again, "nothing ran, so no run was recorded"
    assert Workspace(root).sql("select count(*) from arco.runs").fetchall() == [(1,)]
    ip.run_cell(ORDERS.replace("-5.0", "-6.0"))
    assert Workspace(root).sql("select count(*) from arco.runs").fetchall() == [(2,)]


def test_python_cells_see_upstream_assets_and_may_assign_their_value(ip: TestingShell) -> None:
    ip.run_cell("import polars as pl")
    ip.run_cell(ORDERS)
    ip.run_cell("%%asset big\nbig = orders.filter(pl.col('amount') > 8)")
    assert ip.user_ns["big"]["id"].to_list() == [1]
    ip.run_cell("%%asset doubled\nimport polars as pl\norders.with_columns(pl.col('amount') * 2)")
    assert ip.user_ns["doubled"]["amount"].to_list() == [20.0, -10.0, 15.0]
    assert default_registry.get("doubled").deps == ("orders",)


def test_notebook_variables_are_visible_to_python_cells(ip: TestingShell) -> None:
    ip.run_cell("import polars as pl\nthreshold = 5")
    ip.run_cell(ORDERS)
    ip.run_cell("%%asset over\norders.filter(pl.col('amount') > threshold)")
    assert ip.user_ns["over"].height == 2


def test_flags(ip: TestingShell, root: str) -> None:
    ip.run_cell(ORDERS)
    ip.run_cell(
        "%%asset tagged --deps orders --description 'Positive orders' --tags finance,daily "
        "--retries 2 --sql\nSELECT * FROM orders WHERE amount > 0"
    )
    record = Workspace(root).catalog.load_asset("tagged")
    assert (record.description, record.tags) == ("Positive orders", ("daily", "finance"))
    assert default_registry.get("tagged").retries == 2
    ip.run_cell("%%asset forced --python\n1 + 1 and orders")
    assert default_registry.get("forced").kind == "python"
    with pytest.raises(UsageError, match="not both"):
        ip.run_cell("%%asset x --sql --python\nselect 1")


def test_no_run_defines_only(ip: TestingShell, root: str) -> None:
    shown = repr(ip.out("%%asset later --no-run\nSELECT 42 AS answer"))
    assert shown.startswith("Defined later; not run (--no-run).")
    ws = Workspace(root)
    assert ws.catalog.load_asset("later").kind == "sql"
    assert ws.sql("select count(*) from arco.runs").fetchall() == [(0,)]
    assert "later" not in ip.user_ns


def test_partitioned_cells(ip: TestingShell, root: str) -> None:
    ip.run_cell("import polars as pl")
    preview = repr(
        ip.out(
            "%%asset regions --partitions static:eu,us --python\n"
            "pl.DataFrame({'region': [partition_key], 'n': [len(partition_key)]})"
        )
    )
    assert preview.startswith("regions: materialized 2 of 2 partitions, 2 rows")
    assert Workspace(root).partition_status("regions") == {
        "eu": "materialized",
        "us": "materialized",
    }


def test_definitions_survive_a_restart(ip: TestingShell, root: str) -> None:
    ip.run_cell(ORDERS)
    ip.run_cell("%%asset orders_clean\nSELECT * FROM orders WHERE amount > 0")
    ip.run_cell("%unload_ext arco")
    ip.extension_manager.loaded.discard("arco")
    default_registry.clear()  # what a kernel restart does to definitions
    ip.run_cell("%load_ext arco")
    ip.run_cell(f"%config Arco.root = {root!r}")
    listed = repr(ip.out("%arco assets"))
    assert "orders_clean" in listed
    assert "orders " in listed
    assert "up to date" in repr(ip.out("%arco plan"))
    again = repr(ip.out("%%asset orders_clean\nSELECT * FROM orders WHERE amount > 0"))
    assert again.startswith("orders_clean is up to date: skipped")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "%%asset bad\nSELECT * FROM ordrs",
            r"reads 'ordrs', which is not an asset\. Did you mean orders\?",
        ),
        ("%%asset bad\nSELECT * FROM orders WHERE", "neither SQL nor Python|does not parse"),
        ("%%asset bad --frob\nselect 1", "unrecognized arguments: --frob"),
        ("%%asset bad-name\nselect 1", "not a valid asset name"),
        ("%%asset bad\n", "the cell body is empty"),
        ("%%asset bad\n  \n", "the cell is empty"),
        ("%%asset bad --partitions weekly:2024\nselect 1", "Unknown partition kind"),
        ("%%asset orders --deps orders\nselect 1", "[Cc]ycle"),
        ("%%asset bad --python\ndef (", "Python syntax error"),
    ],
)
def test_bad_cells_are_one_line(ip: TestingShell, cell: str, message: str) -> None:
    ip.run_cell(ORDERS)
    with pytest.raises(UsageError, match=message) as info:
        ip.run_cell(cell)
    assert "\n" not in str(info.value)


def test_a_failing_cell_shows_the_users_traceback_and_keeps_data(
    ip: TestingShell, root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell(ORDERS)
    with pytest.raises(UsageError, match=r"Run \w+ failed: boom failed\. Fix the cell") as info:
        ip.run_cell("%%asset boom\nx = orders.height\nraise ValueError(f'bad data: {x} rows')")
    err = capsys.readouterr().err
    assert "boom (attempt 1) failed:" in err
    assert 'File "<asset boom>", line 2' in err
    assert "ValueError: bad data: 3 rows" in err
    assert "arco_nb" not in err
    run_id = str(info.value).split()[1]
    ws = Workspace(root)
    assert ws.sql(f"select status from arco.runs where run_id = '{run_id}'").fetchall() == [
        ("failed",)
    ]
    assert ws.read("orders").num_rows == 3, "nothing materialized before is lost"
    ip.run_cell("%%asset boom\norders.head(1)")
    assert ip.user_ns["boom"].height == 1


def test_a_refused_definition_keeps_the_one_that_works(ip: TestingShell) -> None:
    ip.run_cell(ORDERS)
    ip.run_cell("%%asset clean\nselect * from orders")
    with pytest.raises(UsageError, match="depends on 'nope', which is not an asset"):
        ip.run_cell("%%asset clean --deps nope\nselect 1")
    with pytest.raises(UsageError, match=r"[Cc]ycle"):
        ip.run_cell("%%asset orders --deps clean\nselect 1")
    assert "up to date" in repr(ip.out("%%asset clean\nselect * from orders"))
    ip.run_cell("%%asset other\nselect 1 as x")  # later cells are unaffected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("-- just a note", "only comments"),
        ("return 1", "Python syntax error on line 1: 'return' outside function"),
        ("x = 1\nbreak", "Python syntax error on line 2"),
    ],
)
def test_cells_the_compiler_refuses(ip: TestingShell, body: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        ip.run_cell(f"%%asset odd\n{body}")
    assert "\n" not in str(info.value)


def test_quoted_lists(ip: TestingShell, root: str) -> None:
    ip.run_cell(ORDERS)
    ip.run_cell("%%asset t --tags 'pii, finance' --deps 'orders'\nselect * from orders")
    assert Workspace(root).catalog.load_asset("t").tags == ("finance", "pii")
    assert default_registry.get("t").deps == ("orders",)


def test_retries_survive_a_restart(ip: TestingShell, root: str) -> None:
    ip.run_cell("%%asset r --retries 2\nselect 1 as x")
    ip.run_cell("%unload_ext arco")
    ip.extension_manager.loaded.discard("arco")
    default_registry.clear()
    ip.run_cell("%load_ext arco")
    ip.run_cell(f"%config Arco.root = {root!r}")
    ip.run_cell("%arco assets")
    assert default_registry.get("r").retries == 2


def test_one_traceback_per_distinct_error(
    ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError, match="bad failed"):
        ip.run_cell("%%asset bad --partitions static:a,b,c\nselect * from read_csv('nowhere.csv')")
    err = capsys.readouterr().err
    assert err.count("IO Error") == 1
    assert "and 2 more with the same error" in err
    assert "Traceback" not in err, "a SQL failure is DuckDB's message"


def test_a_root_that_is_a_file_is_refused(ip: TestingShell, tmp_path: object) -> None:
    from pathlib import Path

    afile = Path(str(tmp_path)) / "afile"
    afile.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory"):
        ip.run_cell(f"%arco use {afile}")


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("print", "Python's built-in 'print'"),
        ("len", "Python's built-in 'len'"),
        ("match", "Python's built-in 'match'"),
        ("get_ipython", "IPython's 'get_ipython'"),
        ("__builtins__", "IPython's '__builtins__'"),
        ("_", "IPython's '_'"),
        ("_i3", "IPython's '_i3'"),
        ("Out", "IPython's 'Out'"),
    ],
)
def test_names_that_would_hide_builtins_or_ipythons_are_refused(
    ip: TestingShell, root: str, name: str, what: str
) -> None:
    with pytest.raises(UsageError, match=f"cannot be named '{name}'.*hide {what}"):
        ip.run_cell(f"%%asset {name}\nselect 1 as x")
    assert name not in Workspace(root).catalog.state.assets  # nothing was defined
    ip.run_cell("assert print is not None and len([1]) == 1 and get_ipython() is not None")
    assert ip.out("%%asset print_data\nselect 1 as x").name == "print_data"  # the suggestion
