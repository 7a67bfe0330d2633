# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every ``%arco`` subcommand, with its errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from IPython.core.error import UsageError

from arco_nb import Workspace
from tests.notebook.conftest import TestingShell


@pytest.fixture
def pipeline(ip: TestingShell) -> TestingShell:
    ip.run_cell("%%asset raw\nselect * from range(5) t(x)")
    ip.run_cell("%%asset clean --tags finance\nselect x from raw where x > 0")
    ip.run_cell("%%asset report --no-run\nselect sum(x) as total from clean")
    return ip


def test_assets(pipeline: TestingShell, root: str) -> None:
    table = pipeline.out("%arco assets")
    text = repr(table)
    assert list(table.columns) == [
        "asset",
        "kind",
        "deps",
        "partitions",
        "status",
        "rows",
        "last materialized",
    ]
    assert [r[0] for r in table.rows] == ["clean", "raw", "report"]
    # raw's newest task was up to date (in clean's run), clean's succeeded: both materialized.
    raw = {i.name: i.status for i in Workspace(root).assets(catalog_only=True)}
    assert raw == {"clean": "succeeded", "raw": "up_to_date", "report": "never run"}
    assert [r[4] for r in table.rows] == ["materialized", "materialized", "never materialized"]
    assert text.endswith("3 assets")
    assert "<th>status</th>" in table._repr_html_()
    tagged = pipeline.out("%arco assets --tag finance")
    assert [r[0] for r in tagged.rows] == ["clean"]
    assert tagged.footer == "1 asset"


def test_assets_says_failed_and_skipped(ip: TestingShell) -> None:
    ip.run_cell("%%asset fine\nselect 1 as x")
    ip.run_cell("%%asset boom --no-run --python\nraise ValueError('no data today')")
    ip.run_cell("%%asset after --no-run\nselect * from boom")
    with pytest.raises(UsageError, match="boom failed; skipped: after"):
        ip.run_cell("%arco run")
    shown = {r[0]: r[4] for r in ip.out("%arco assets").rows}
    assert shown == {"after": "skipped", "boom": "failed", "fine": "materialized"}
    runs = ip.out("%arco runs boom")
    assert runs.rows[0][1] == "failed"
    assert runs.footer == "1 run of boom"


def test_plan_run_and_explain(pipeline: TestingShell) -> None:
    plan = repr(pipeline.out("%arco plan"))
    assert "report runs: it has never been materialized." in plan
    assert "1 to run, 2 up to date" in plan
    assert "report runs" in repr(pipeline.out("%arco explain report"))
    ran = pipeline.out("%arco run")
    assert ran.title.startswith("Run ")
    assert ran.title.endswith(" succeeded")
    assert ["report", "succeeded", "never materialized"] in [list(r) for r in ran.rows]
    assert ["raw", "up to date", "up to date"] in [list(r) for r in ran.rows]
    assert "1 materialized, 2 up to date" in ran.footer
    forced = pipeline.out("%arco run raw --force")
    assert [list(r) for r in forced.rows] == [["raw", "succeeded", "forced"]]
    assert "is skipped" in repr(pipeline.out("%arco explain raw"))
    # Fingerprints come from code, not from when things ran: forcing raw changes nothing below.
    assert "0 to run, 3 up to date" in repr(pipeline.out("%arco plan +report"))
    with pytest.raises(UsageError, match=r"Unknown asset 'reprot'\. Did you mean 'report'"):
        pipeline.run_cell("%arco explain reprot")
    with pytest.raises(UsageError, match="argument --executor: invalid choice"):
        pipeline.run_cell("%arco run --executor fork")


def test_run_partitions(ip: TestingShell, root: str) -> None:
    ip.run_cell(
        "%%asset days --partitions daily:2024-01-01 --no-run\n"
        "select getvariable('partition_key') as day"
    )
    ran = ip.out("%arco run days --partitions 2024-01-01..2024-01-03")
    assert [r[0] for r in ran.rows] == ["days[2024-01-01]", "days[2024-01-02]", "days[2024-01-03]"]
    assert Workspace(root).read("days").num_rows == 3
    with pytest.raises(UsageError, match="runs backwards"):
        ip.run_cell("%arco run days --partitions 2024-01-03..2024-01-01")


def test_a_failing_run_is_one_line_after_the_users_traceback(
    ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%%asset boom --no-run --python\n1 / 0")
    with pytest.raises(UsageError, match=r"Run \w+ failed: boom failed"):
        ip.run_cell("%arco run")
    assert "ZeroDivisionError: division by zero" in capsys.readouterr().err


def test_runs(pipeline: TestingShell) -> None:
    pipeline.run_cell("%arco run")
    runs = pipeline.out("%arco runs")
    assert len(runs.rows) == 3
    assert runs.rows[0][1] == "succeeded"
    assert runs.rows[0][3] == 1, "the newest run materialized report only"
    assert len(pipeline.out("%arco runs --limit 1").rows) == 1
    of_report = pipeline.out("%arco runs report")
    assert len(of_report.rows) == 1
    assert of_report.footer == "1 run of report"
    with pytest.raises(UsageError, match="Unknown asset 'nope'"):
        pipeline.run_cell("%arco runs nope")


def test_lineage(pipeline: TestingShell) -> None:
    view = pipeline.out("%arco lineage clean --up 1 --down 1")
    bundle = view._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert "clean" in bundle["image/svg+xml"]
    assert bundle["text/plain"].splitlines() == [
        "    <- raw [materialized, 5 rows]",
        "* clean [materialized, 4 rows]",
        "    -> report [never materialized]",
    ]
    with pytest.raises(UsageError, match="Unknown asset"):
        pipeline.run_cell("%arco lineage nope")


def test_lineage_without_dot_falls_back_to_text(
    pipeline: TestingShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    bundle = pipeline.out("%arco lineage clean")._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    first, *tree = bundle["text/plain"].splitlines()
    assert "`dot` program is not installed" in first
    assert "apt-get install graphviz" in first
    assert "* clean [materialized, 4 rows]" in tree


def test_workspace_lineage_displays_itself(pipeline: TestingShell, root: str) -> None:
    graph = Workspace(root).lineage("clean")
    data, _ = pipeline.display_formatter.format(graph)
    assert "<svg" in data["image/svg+xml"]


def test_sql(pipeline: TestingShell) -> None:
    frame = pipeline.out("%arco sql select asset, rows from arco.materializations order by asset")
    assert isinstance(frame, pl.DataFrame)
    assert frame.rows() == [("clean", 4), ("raw", 5)]
    multi = pipeline.out("%%arco sql\nselect count(*) as n\nfrom arco.runs")
    assert multi.item() == 2
    with pytest.raises(UsageError, match="needs a query"):
        pipeline.run_cell("%arco sql")
    with pytest.raises(UsageError, match="Table with name nope does not exist") as info:
        pipeline.run_cell("%arco sql select * from arco.nope")
    assert "\n" not in str(info.value)


def test_history(pipeline: TestingShell) -> None:
    history = pipeline.out("%arco history")
    assert [r[0] for r in history.rows][:2] == [len(history.rows), len(history.rows) - 1]
    assert history.footer == f"{len(history.rows)} of {len(history.rows)} versions"
    changes = " ".join(r[3] for r in history.rows)
    assert "define_asset asset:report" in changes
    assert len(pipeline.out("%arco history --limit 1").rows) == 1


def test_compact(pipeline: TestingShell) -> None:
    text = repr(pipeline.out("%arco compact"))
    assert text.startswith("Compacted ")
    assert "events" in text
    again = repr(pipeline.out("%arco compact"))
    assert again.startswith("Compacted 0 events from 0 inbox objects into 0 Parquet parts")
    with pytest.raises(UsageError, match="takes no arguments"):
        pipeline.run_cell("%arco compact now")


def test_use(ip: TestingShell, tmp_path: object) -> None:
    ip.run_cell("%%asset one\nselect 1 as x")
    shown = repr(ip.out(f"%arco use {tmp_path} --tenant acme --workspace lab"))
    assert shown == (
        f"Arco metadata now in {tmp_path} (tenant acme, workspace lab), "
        "from this notebook's setting (%arco use, %config Arco.root)"
    )
    ip.run_cell("%%asset two\nselect 2 as x")
    ws = Workspace(str(tmp_path), tenant="acme", workspace="lab")
    assert ws.read("two").to_pylist() == [{"x": 2}]
    with pytest.raises(UsageError, match=r"tenant"):
        ip.run_cell(f"%arco use {tmp_path} --tenant ../escape")
    assert "acme" in repr(ip.out("%arco help")), "a refused switch changes nothing"


def test_use_switches_only_what_it_names(ip: TestingShell, root: str) -> None:
    """``%arco use --workspace W`` keeps the root: how each tutorial gets a workspace of its
    own in one store."""
    ip.run_cell("%%asset one\nselect 1 as x")
    shown = repr(ip.out("%arco use --workspace tutorial-03"))
    assert f"{root} (tenant default, workspace tutorial-03)" in shown
    ip.run_cell("%%asset two\nselect 2 as x")
    assert Workspace(root, workspace="tutorial-03").read("two").to_pylist() == [{"x": 2}]
    assert [r[0] for r in ip.out("%arco assets").rows] == ["two"], "one's workspace is left"
    with pytest.raises(UsageError, match="needs a root, --tenant, --workspace"):
        ip.run_cell("%arco use")


def test_use_takes_storage_options(ip: TestingShell, tmp_path: object) -> None:
    ip.run_cell(f"%arco use {tmp_path} --storage-option auto_mkdir=true")
    assert ip.run_line_magic("config", "Arco.storage_options") == {"auto_mkdir": "true"}
    with pytest.raises(UsageError, match="'nokey' is not KEY=VALUE"):
        ip.run_cell("%arco use --storage-option nokey")
    assert ip.run_line_magic("config", "Arco.storage_options") == {"auto_mkdir": "true"}


def test_load_ext_says_which_store_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "arco.toml").write_text('root = "lake"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv("ARCO_ROOT", raising=False)
    shell = TestingShell.instance()
    shell.config.Arco.pop("root", None)  # left by the other tests' %config Arco.root
    try:
        shell.run_cell("%load_ext arco")
        said = capsys.readouterr().out
        assert f"metadata in {tmp_path / 'lake'} (tenant default, workspace default), " in said
        assert f"from {tmp_path / 'arco.toml'}" in said
    finally:
        shell.run_cell("%unload_ext arco")
        shell.extension_manager.loaded.discard("arco")


def test_assets_add_up_the_rows_of_partitions(ip: TestingShell) -> None:
    ip.run_cell("%%asset parts --partitions static:a,b,c\nselect * from range(10) t(x)")
    row = ip.out("%arco assets").rows[0]
    assert row[0] == "parts"
    assert row[5] == 30, "the latest materialization of each partition, added up"
