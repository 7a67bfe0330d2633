# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every ``arco`` command through click's runner, plus one real subprocess each."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from arco_nb import Workspace, __version__
from tests.cli.conftest import run_arco

Arco = Callable[..., Result]


def test_help_and_version(arco: Arco) -> None:
    result = arco("--help")
    assert result.exit_code == 0
    for command in (
        "run",
        "plan",
        "explain",
        "assets",
        "runs",
        "show",
        "catalog",
        "history",
        "sql",
        "lineage",
        "init",
        "compact",
        "gc",
        "doctor",
        "export",
    ):
        assert f"  {command} " in result.output
    assert "Examples:" in result.output
    assert arco("--version").output.strip() == f"arco, version {__version__}"
    assert "--partitions" in arco("run", "--help").output


def test_run_a_module(arco: Arco, pipeline: Path, root: str) -> None:
    first = arco("run", str(pipeline))
    assert first.exit_code == 0, first.output
    assert "numbers" in first.output
    assert "never materialized" in first.output
    assert "succeeded" in first.output
    again = arco("run", str(pipeline))
    assert again.exit_code == 0
    assert again.output.startswith("Nothing to run: 4 tasks up to date")
    assert Workspace(root).read("total").to_pylist() == [{"total": 6}]
    forced = arco(
        "run", str(pipeline), "--select", "regional", "--partitions", "eu", "--force", "--json"
    )
    summary = json.loads(forced.output)
    assert [t["task"] for t in summary["tasks"]] == ["regional[eu]"]
    assert summary["runs"][0]["status"] == "succeeded"


def test_run_the_catalogs_assets(arco: Arco, pipeline: Path) -> None:
    arco("run", str(pipeline))
    result = arco("run", "--select", "+total", "--force", "--executor", "threads")
    assert result.exit_code == 0, result.output
    assert "forced" in result.output


def test_a_failing_asset_exits_1_with_the_users_traceback(arco: Arco, failing: Path) -> None:
    result = arco("run", str(failing))
    assert result.exit_code == 1
    assert "ValueError: the feed is down" in result.stderr
    assert 'failing.py", line' in result.stderr
    assert "arco_nb" not in result.stderr
    assert "failed" in result.output


def test_inspecting(arco: Arco, pipeline: Path, tmp_path: Path) -> None:
    arco("run", str(pipeline))
    assets = json.loads(arco("assets", "--json").output)
    assert [a["asset"] for a in assets] == ["numbers", "regional", "total"]
    assert assets[1]["rows"] == 2, "both partitions, added up"
    assert "3 assets" in arco("assets").output
    assert [a["asset"] for a in json.loads(arco("assets", "--tag", "demo", "--json").output)] == [
        "numbers"
    ]
    plan = json.loads(arco("plan", "--json").output)
    assert plan["plan_id"].startswith("plan_")
    assert {t["reason"] for t in plan["tasks"]} == {"up to date"}
    assert "is skipped" in arco("explain", "total").output
    explained = json.loads(arco("explain", "regional", "--json").output)
    assert [(t["partition"], t["reason"]) for t in explained] == [
        ("eu", "up to date"),
        ("us", "up to date"),
    ]
    runs = json.loads(arco("runs", "--json").output)
    assert len(runs) == 1
    assert runs[0]["materialized"] == 4
    run_id = runs[0]["run_id"]
    assert json.loads(arco("runs", "--asset", "total", "--json").output)[0]["run_id"] == run_id
    assert json.loads(arco("runs", "--status", "failed", "--json").output) == []
    shown = arco("show", run_id)
    assert f"Run {run_id}: succeeded" in shown.output
    assert "regional[eu]" in shown.output
    assert len(json.loads(arco("show", run_id, "--json").output)["tasks"]) == 4
    catalog = json.loads(arco("catalog", "--json").output)
    assert [t["table"] for t in catalog] == ["assets.numbers", "assets.regional", "assets.total"]
    assert catalog[2]["columns"] == ["total int64"]
    history = json.loads(arco("history", "--json", "--limit", "1").output)
    assert history[0]["version"] == 2, "the definitions, then the tables the run made"
    assert (
        arco(
            "sql", "select asset, rows from arco.materializations where asset = 'total'", "--csv"
        ).output
        == "asset,rows\ntotal,1\n"
    )
    assert json.loads(arco("sql", "select 1 as one", "--json").output) == [{"one": 1}]
    assert "total" in arco("sql", "select name from arco.assets").output
    assert arco("lineage", "total").output.splitlines() == [
        "    <- numbers [materialized, 3 rows]",
        "* total [materialized, 1 row]",
    ]
    assert json.loads(arco("lineage", "total", "--format", "json").output)["focus"] == "total"
    assert arco("lineage", "total", "--format", "dot").output.startswith("digraph lineage {")
    svg = tmp_path / "total.svg"
    assert arco("lineage", "total", "--format", "svg", "-o", str(svg)).exit_code == 0
    assert svg.read_text().lstrip().startswith("<?xml")


def test_init_compact_gc(arco: Arco, pipeline: Path, root: str) -> None:
    from arco_nb.core.ids import new_id

    assert "Initialized an Arco workspace" in arco("init").output
    assert "already" in arco("init").output
    arco("run", str(pipeline))
    assert arco("compact").output.startswith("Compacted ")
    assert json.loads(arco("compact", "--json").output)["events"] == 0
    ws = Workspace(root)
    old = "01ej3px000f8632kxge4xt1rea"  # an id made in September 2020
    ws.store.write(f"catalog/snapshots/{old}/assets.parquet", b"orphan")
    ws.store.write(f"data/total/_/{old}.parquet", b"orphan")
    ws.store.write(f"data/total/_/{new_id()}.parquet", b"too young")
    dry = json.loads(arco("gc", "--dry-run", "--json").output)
    assert dry["deleted"] == {"snapshots": 1, "data": 1, "temp": 0}
    assert dry["kept_young"] == 1
    assert ws.store.exists(f"data/total/_/{old}.parquet"), "a dry run deletes nothing"
    assert "Deleted 1 snapshot files, 1 data files" in arco("gc").output
    assert not ws.store.exists(f"data/total/_/{old}.parquet")
    assert Workspace(root).read("total").to_pylist() == [{"total": 6}], "what is named stays"


def test_doctor(arco: Arco, pipeline: Path, root: str) -> None:
    arco("run", str(pipeline))
    arco("compact")
    clean = arco("doctor")
    assert clean.exit_code == 0
    assert "Everything is readable and consistent." in clean.output
    assert "Checked 2 commit records, 1 manifests, 4 parts" in clean.output
    Workspace(root).store.write("events/inbox/2024-01-01/torn.json", b'{"events": [')
    sick = arco("doctor")
    assert sick.exit_code == 1
    assert "events/inbox/2024-01-01/torn.json" in sick.output
    assert "1 problems left. Run `arco doctor --repair`" in sick.output
    fixed = arco("doctor", "--repair", "--json")
    assert fixed.exit_code == 0
    report = json.loads(fixed.output)
    assert report["healthy"] is True
    assert report["findings"][0]["remedy"].startswith("moved to quarantine")
    assert Workspace(root).store.exists(f"{report['quarantine']}/events/inbox/2024-01-01/torn.json")
    assert arco("doctor").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frob"], "No such command 'frob'"),
        (["assets", "--frob"], "No such option '--frob'"),
        (["explain", "nope"], "Unknown asset 'nope'"),
        (["explain", "total+"], "Unknown asset 'total+'"),  # one name, not a selection
        (["run", "--select", ""], "it is empty"),  # an unset $SEL must not run everything
        (["runs", "--asset", "totl"], "Did you mean 'total'"),
        (["plan", "+"], "selection"),
        (["run", "--select", "nope"], "Unknown asset 'nope'"),
        (["run", "missing.py"], "No such notebook or module"),
        (["sql", "select * from nowhere"], "No table or asset named 'nowhere'"),
        (["sql", "select * from totl"], "Did you mean 'total'"),
        (["show", "01m8dzzzzzzzzzzzzzzzzzzzzz"], "No run"),
        (["lineage", "total", "--up", "-1"], "-1 is not in the range"),
        (["plan", "total", "--partitions", "2024-01-01"], "no selected asset is partitioned"),
        (["sql", ";"], "The query holds no statement"),
        (["lineage", "total", "-o", "/nonexistent/dir/x.txt"], "Cannot write"),
        (["export", "openlineage", "-o", "/nonexistent/dir/x.jsonl"], "Cannot write"),
        (["gc", "--grace", "nan"], "--grace"),
        (["gc", "--grace", "1e12"], "--grace"),
        (["--tenant", "", "assets"], "tenant id must match"),
        (
            ["run", "--executor", "dask", "--scheduler", "notaurl"],
            "Cannot reach the Dask scheduler",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    arco: Arco, pipeline: Path, args: list[str], message: str
) -> None:
    arco("run", str(pipeline), "--select", "numbers,total")
    result = arco(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_bad_roots(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run_arco("--root", str(afile), "assets")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: The root '{afile}' is a file, not a directory. Point --root / ARCO_ROOT at a "
        "directory (it is created if missing)"
    ]
    unreachable = run_arco(
        "--root",
        "s3://bucket/lake",
        "--storage-option",
        "endpoint_url=http://127.0.0.1:9",
        "assets",
        env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_MAX_ATTEMPTS": "1"},
    )
    assert unreachable.returncode == 2
    assert "Could not connect to the endpoint URL" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1
    refused = run_arco(
        "--root",
        "s3://bucket/lake",
        "--storage-option",
        "nonsense=1",
        "assets",
        env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"},
    )
    assert refused.returncode == 2
    assert "storage options" in refused.stderr


def test_missing_credentials() -> None:
    result = run_arco(
        "--root",
        "s3://bucket/lake",
        "--storage-option",
        "endpoint_url=http://127.0.0.1:9",
        "assets",
        env={"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"},
        drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"),
    )
    assert result.returncode == 2
    assert "Unable to locate credentials" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_runs_as_a_real_process(tmp_path: Path, pipeline: Path) -> None:
    root = str(tmp_path / "proc")
    ran = run_arco("--root", root, "run", str(pipeline))
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(run_arco("--root", root, "runs", "--json").stdout)[0]["run_id"]
    for args in (
        ["--help"],
        ["--version"],
        ["init"],
        ["plan"],
        ["explain", "total"],
        ["assets"],
        ["runs"],
        ["show", run_id],
        ["catalog"],
        ["history"],
        ["sql", "select 1"],
        ["lineage", "total"],
        ["compact"],
        ["gc", "--dry-run"],
        ["export", "openlineage", "-o", str(tmp_path / "ol.jsonl")],
    ):
        result = run_arco("--root", root, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.strip(), args


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "raise RuntimeError('boom at import')\n",
            "failed to import (line 1): RuntimeError: boom at import",
        ),
        ("import nonexistent_module_xyz\n", "ModuleNotFoundError"),
        ("import sys\nsys.exit(0)\n", "SystemExit"),
        ("x = 1\n", "defines no assets"),
        ("def (:\n", "line 1"),
    ],
)
def test_modules_that_cannot_be_run(arco: Arco, tmp_path: Path, source: str, message: str) -> None:
    module = tmp_path / "mod.py"
    module.write_text(source)
    result = arco("run", str(module))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_json_is_strict_json(arco: Arco) -> None:
    out = arco("sql", "select 'nan'::double as x, 'inf'::double as y", "--json").output
    assert json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}")) == [
        {"x": None, "y": None}
    ]


def test_user_prints_do_not_spoil_json(arco: Arco, tmp_path: Path) -> None:
    module = tmp_path / "printy.py"
    module.write_text(
        "import arco\nimport pyarrow as pa\nprint('loading')\n\n\n@arco.asset\n"
        "def p() -> pa.Table:\n    print('computing')\n    return pa.table({'x': [1]})\n"
    )
    result = arco("run", str(module), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"][0]["status"] == "succeeded"
    assert "loading" in result.stderr


def test_an_asset_that_only_ever_failed_is_known(arco: Arco, failing: Path) -> None:
    arco("run", str(failing))
    runs = json.loads(arco("runs", "--asset", "broken", "--json").output)
    assert [r["status"] for r in runs] == ["failed"]
    assert "broken" in [a["asset"] for a in json.loads(arco("assets", "--json").output)]


def test_two_identical_runs_at_once_both_succeed(tmp_path: Path, pipeline: Path) -> None:
    """Two ``arco run pipeline.py`` at once define the same assets: the one that commits
    second finds its definitions already there, which is not a conflict."""
    import concurrent.futures

    root = str(tmp_path / "lake")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_arco("--root", root, "run", str(pipeline)), "ab"))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert not any("CommitConflict" in r.stderr or "conflict" in r.stderr for r in results)
    ws = Workspace(root)
    # The second may find everything up to date (no run) if the first finished first.
    assert [r.status for r in ws.runs()] in (["succeeded"], ["succeeded", "succeeded"])
    assert sorted(ws.catalog.state.assets) == ["numbers", "regional", "total"]
