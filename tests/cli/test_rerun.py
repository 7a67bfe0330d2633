# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco rerun RUN_ID [--same-code]`` as a real process."""

from __future__ import annotations

import json
from pathlib import Path

from arco_nb import Workspace
from tests.cli.conftest import PIPELINE, run_arco


def test_rerun_with_todays_code_and_with_the_runs_code(tmp_path: Path, root: str) -> None:
    module = tmp_path / "pipeline.py"
    module.write_text(PIPELINE)
    assert run_arco("--root", root, "run", str(module)).returncode == 0
    first = json.loads(run_arco("--root", root, "runs", "--json").stdout)[0]["run_id"]
    module.write_text(PIPELINE.replace("sum(n)::BIGINT", "sum(n)::BIGINT * 10"))
    assert run_arco("--root", root, "run", str(module)).returncode == 0
    assert Workspace(root).read("total").to_pydict() == {"total": [60]}

    today = run_arco("--root", root, "rerun", first, "--json")
    assert today.returncode == 0, today.stderr
    tasks = json.loads(today.stdout)["tasks"]
    assert {t["reason"] for t in tasks} == {"forced"}
    assert {t["task"] for t in tasks} == {"numbers", "total", "regional[eu]", "regional[us]"}
    assert Workspace(root).read("total").to_pydict() == {"total": [60]}

    same = run_arco("--root", root, "rerun", first, "--same-code")
    assert same.returncode == 0, same.stderr
    assert "Tasks" in same.stdout
    assert Workspace(root).read("total").to_pydict() == {"total": [6]}, "the first run's code"

    unknown = run_arco("--root", root, "rerun", "01m8dzzzzzzzzzzzzzzzzzzzzz")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("Error: No run")
