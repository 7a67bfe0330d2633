# SPDX-License-Identifier: Apache-2.0 OR MIT
"""One status vocabulary on every ``arco`` table (real processes: what a user's terminal gets),
raw states in ``--json``, and counts in the number they agree with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from arco_nb.cli.run_cmd import _asset_cells
from tests.cli.conftest import FAILING, PIPELINE, run_arco

DOUBLED = PIPELINE + '\n\narco.sql_asset("doubled", "select total * 2 as d from total")\n'
SKIPPED = FAILING + (
    "\n\n@arco.asset\ndef after(broken: pa.Table) -> pa.Table:\n    return broken\n"
    "\n\n@arco.asset\ndef later() -> pa.Table:\n    return pa.table({'y': [1]})\n"
)


def _arco(root: str, *args: str) -> str:
    result = run_arco("--root", root, *args)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def _column(text: str, name: str) -> dict[str, str]:
    """Column ``name`` of the plain table in ``text``, by each row's first cell.

    The table is the header above the first rule of dashes and the rows below it, up to the
    footer or the first line that is not a row.
    """
    lines = text.splitlines()
    at_rule = next(i for i, line in enumerate(lines) if line and set(line) <= {"-", " "})
    header, rule = lines[at_rule - 1], lines[at_rule]
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    ends = [*starts[1:], None]
    heads = [header[s:e].strip() for s, e in zip(starts, ends, strict=True)]
    start, end = starts[heads.index(name)], ends[heads.index(name)]
    found = {}
    for line in lines[at_rule + 1 :]:
        gaps = all(line[s - 2 : s] == "  " for s in starts[1:] if s <= len(line))
        if len(line) <= start or not gaps:
            break  # the footer, or what is printed after the table
        found[line.split()[0]] = line[start:end].strip()
    return found


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[str, str]:
    """A root where ``numbers``, ``total`` and ``regional`` were checked and found up to date
    by the newest run, which materialized ``doubled`` afresh; and that run's id."""
    root = str(tmp_path / "lake")
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(PIPELINE)
    second.write_text(DOUBLED)
    assert run_arco("--root", root, "run", str(first)).returncode == 0
    ran = run_arco("--root", root, "run", str(second), "--json")
    assert ran.returncode == 0, ran.stderr
    return root, json.loads(ran.stdout)["runs"][0]["run_id"]


def test_assets_are_materialized_whether_up_to_date_or_fresh(workspace: tuple[str, str]) -> None:
    root, _ = workspace
    raw = {a["asset"]: a["status"] for a in json.loads(_arco(root, "assets", "--json"))}
    assert raw == {
        "doubled": "succeeded",
        "numbers": "up_to_date",
        "regional": "up_to_date",
        "total": "up_to_date",
    }, "--json keeps the raw task status"
    table = _arco(root, "assets")
    assert table.splitlines()[0].split("  ")[:1] == ["asset"]
    assert "last status" not in table
    assert _column(table, "status") == dict.fromkeys(raw, "materialized")
    assert table.rstrip().splitlines()[-1] == "4 assets"
    assert _arco(root, "assets", "--tag", "demo").rstrip().splitlines()[-1] == "1 asset"
    assert _arco(root, "lineage", "total").splitlines() == [
        "    <- numbers [materialized, 3 rows]",
        "* total [materialized, 1 row]",
        "    -> doubled [materialized, 1 row]",
    ]


def test_runs_and_tasks_keep_their_states_in_words(workspace: tuple[str, str]) -> None:
    root, run_id = workspace
    runs = _arco(root, "runs")
    assert set(_column(runs, "status").values()) == {"succeeded"}
    assert runs.rstrip().splitlines()[-1] == "2 runs"
    assert _arco(root, "runs", "--asset", "doubled").rstrip().splitlines()[-1] == "1 run"
    shown = _arco(root, "show", run_id)
    assert shown.splitlines()[0].startswith(f"Run {run_id}: succeeded (plan ")
    assert _column(shown, "status") == {
        "numbers": "up to date",
        "total": "up to date",
        "regional[eu]": "up to date",
        "regional[us]": "up to date",
        "doubled": "succeeded",
    }
    raw = json.loads(_arco(root, "show", run_id, "--json"))["tasks"]
    assert {t["asset"]: t["status"] for t in raw}["numbers"] == "up_to_date"
    assert _arco(root, "catalog").rstrip().splitlines()[-1].startswith("4 tables (catalog")


def test_a_run_says_up_to_date_in_words_and_json_keeps_the_raw_state(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    one, two = tmp_path / "one.py", tmp_path / "two.py"
    one.write_text(
        "import arco\nimport pyarrow as pa\n\n\n@arco.asset\n"
        "def only() -> pa.Table:\n    return pa.table({'x': [1]})\n"
    )
    two.write_text(
        one.read_text() + "\n\n@arco.asset\ndef next_one(only: pa.Table) -> pa.Table:\n"
        "    return only\n"
    )
    assert run_arco("--root", root, "run", str(one)).returncode == 0
    again = _arco(root, "run", str(one))
    assert again.startswith("Nothing to run: 1 task up to date (plan_"), again
    both = _arco(root, "run", str(two))
    assert _column(both, "status") == {
        "only": "up to date",
        "next_one": "succeeded",
    }
    assert "up_to_date" not in both
    assert _arco(root, "run", str(two)).startswith("Nothing to run: 2 tasks up to date (plan_")
    three = tmp_path / "three.py"
    three.write_text(two.read_text().replace("next_one", "another"))
    summary = json.loads(_arco(root, "run", str(three), "--json"))
    assert [t["status"] for t in summary["tasks"]] == ["up_to_date", "succeeded"]


def test_failed_skipped_and_never_materialized_assets(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    module = tmp_path / "skipping.py"
    module.write_text(SKIPPED)
    ran = run_arco("--root", root, "run", str(module), "--select", "+after")
    assert ran.returncode == 1
    assert _column(ran.stdout, "status") == {
        "ok": "succeeded",
        "broken": "failed",
        "after": "skipped",
    }
    assert "\nbroken failed:\n" in ran.stderr
    assert re.search(r"^Run \w+ failed \(plan_\w+\)$", ran.stdout, flags=re.MULTILINE)
    assert _column(_arco(root, "assets"), "status") == {
        "after": "skipped",
        "broken": "failed",
        "later": "never materialized",
        "ok": "materialized",
    }
    raw = {a["asset"]: a["status"] for a in json.loads(_arco(root, "assets", "--json"))}
    assert raw["later"] == "never run", "--json keeps what it said before"
    assert set(_column(_arco(root, "runs", "--status", "failed"), "status").values()) == {"failed"}


def test_the_asset_cells_of_a_notebook() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("%%asset not_code\n"),
        nbformat.v4.new_code_cell("%load_ext arco"),
        nbformat.v4.new_code_cell("\n%%asset first\nselect 1 as x"),
        nbformat.v4.new_code_cell("%%asset --deps first,x --sql second --no-run\nselect 2"),
        nbformat.v4.new_code_cell("%%asset --tags=a,b --description 'a b c' third\n1"),
        nbformat.v4.new_code_cell("%%asset second\nselect 3"),  # runs after all
        nbformat.v4.new_code_cell("%%asset 'unclosed\n1"),
        nbformat.v4.new_code_cell("%%assets x\n# another magic"),
        nbformat.v4.new_code_cell(""),
    ]
    assert _asset_cells(nb) == {"first": True, "second": True, "third": True}
    nb.cells = nb.cells[:4]
    assert _asset_cells(nb) == {"first": True, "second": False}
