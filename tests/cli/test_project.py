# SPDX-License-Identifier: Apache-2.0 OR MIT
"""One way to find the store, from the command line: ``arco init`` writes ``arco.toml``, and
commands started anywhere below it use its store (real processes)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import PIPELINE, run_arco

CLEAN = ("ARCO_ROOT", "ARCO_TENANT", "ARCO_WORKSPACE", "ARCO_STORAGE_OPTIONS")


def test_init_writes_a_project_file_that_commands_below_it_use(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    notebooks = project / "notebooks"
    notebooks.mkdir(parents=True)
    (notebooks / "pipeline.py").write_text(PIPELINE)

    made = run_arco("init", cwd=project, drop=CLEAN)
    assert made.returncode == 0, made.stderr
    assert f"Wrote {project / 'arco.toml'}" in made.stdout
    text = (project / "arco.toml").read_text()
    assert 'root = ".arco"' in text
    again = run_arco("init", cwd=project, drop=CLEAN)
    assert "already" in again.stdout
    assert (project / "arco.toml").read_text() == text

    bare = run_arco(cwd=notebooks, drop=CLEAN)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.strip().splitlines()[-1] == (
        f"Store: {project / '.arco'} (tenant default, workspace default), "
        f"from {project / 'arco.toml'}"
    )
    ran = run_arco("run", "pipeline.py", cwd=notebooks, drop=CLEAN)
    assert ran.returncode == 0, ran.stderr
    assert not (notebooks / ".arco").exists(), "not a second store beside the notebooks"
    listed = run_arco("assets", "--json", cwd=project, drop=CLEAN)
    assert {a["asset"] for a in json.loads(listed.stdout)} == {"numbers", "total", "regional"}

    other = tmp_path / "other"
    moved = run_arco(cwd=notebooks, env={"ARCO_ROOT": str(other)}, drop=CLEAN)
    assert moved.stdout.strip().endswith(
        f"Store: {other} (tenant default, workspace default), from ARCO_ROOT"
    )
    given = run_arco("--root", str(other), cwd=notebooks, drop=CLEAN)
    assert given.stdout.strip().endswith("from --root")


def test_a_project_file_with_a_typo_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "arco.toml").write_text('root = ".arco"\nworkspce = "lab"\n')
    result = run_arco("assets", cwd=tmp_path, drop=CLEAN)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'arco.toml'} has unknown key workspce. "
        "Known keys: root, storage_options, tenant, workspace"
    ]


def test_init_elsewhere_names_that_store_in_the_project_file(tmp_path: Path) -> None:
    lake = tmp_path / "shared" / "lake"
    project = tmp_path / "proj"
    project.mkdir()
    made = run_arco("init", str(lake), cwd=project, drop=CLEAN)
    assert made.returncode == 0, made.stderr
    assert (lake / "tenants" / "default" / "workspaces" / "default" / "workspace.json").exists()
    bare = run_arco(cwd=project, drop=CLEAN)
    assert f"Store: {lake} " in bare.stdout
    skipped = run_arco("init", "--no-project", cwd=tmp_path, drop=CLEAN)
    assert skipped.returncode == 0
    assert not (tmp_path / "arco.toml").exists()
