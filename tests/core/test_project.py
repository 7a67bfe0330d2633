# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco.toml``: found by walking up, below arguments and ``ARCO_ROOT``, above the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from arco_nb import ConfigError, Workspace
from arco_nb.core.project import find_project, load_project, project_text
from arco_nb.core.settings import Settings


def _project(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "arco.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_nearest_file_here_or_above_is_found(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_project(str(deep)) is None
    outer = _project(tmp_path / "a", 'root = "lake"\n')
    assert find_project(str(deep)) == str(outer)
    inner = _project(tmp_path / "a" / "b", 'root = "inner"\n')
    assert find_project(str(deep)) == str(inner), "the nearest wins"
    (tmp_path / "x" / "arco.toml").mkdir(parents=True)  # a folder of that name is no project
    assert find_project(str(tmp_path / "x")) is None


def test_a_relative_root_is_relative_to_the_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path / "proj", 'root = "data/../.arco"\nworkspace = "lab"\n')
    notebooks = tmp_path / "proj" / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    s = Settings.from_env(environ={})
    assert s.root == str(tmp_path / "proj" / ".arco")
    assert (s.tenant, s.workspace) == ("default", "lab")
    assert s.origin == str(tmp_path / "proj" / "arco.toml")
    ws = Workspace()
    assert ws.scope.root == str(tmp_path / "proj" / ".arco")
    assert ws.scope.workspace == "lab"


def test_arguments_and_arco_root_win_and_do_not_mix_in_the_files_settings(
    tmp_path: Path,
) -> None:
    _project(
        tmp_path,
        'root = "s3://bucket/lake"\ntenant = "acme"\n[storage_options]\nanon = true\n',
    )
    from_file = Settings.from_env(environ={}, cwd=str(tmp_path))
    assert (from_file.root, from_file.tenant) == ("s3://bucket/lake", "acme")
    assert from_file.storage_options == {"anon": True}
    by_env = Settings.from_env(environ={"ARCO_ROOT": "/elsewhere"}, cwd=str(tmp_path))
    assert (by_env.root, by_env.tenant, by_env.origin) == ("/elsewhere", "default", "ARCO_ROOT")
    assert by_env.storage_options == {}, "S3 options of the file are not sent to another root"
    given = Settings.from_env(root="/given", environ={"ARCO_ROOT": "/elsewhere"}, cwd=str(tmp_path))
    assert (given.root, given.origin) == ("/given", "given")
    assert "from --root" in given.describe("--root")
    assert Settings.from_env(environ={"ARCO_TENANT": "t2"}, cwd=str(tmp_path)).tenant == "t2"


def test_without_a_file_the_default_says_why(tmp_path: Path) -> None:
    s = Settings.from_env(environ={}, cwd=str(tmp_path))
    assert s.root == "./.arco"
    assert "no ARCO_ROOT, no arco.toml here or above" in s.describe()
    _project(tmp_path, 'tenant = "acme"\n')
    named = Settings.from_env(environ={}, cwd=str(tmp_path))
    assert (named.root, named.tenant) == ("./.arco", "acme")
    assert "names no root" in named.origin


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("root = \n", "not valid TOML"),
        ('roots = "x"\n', "unknown key roots"),
        ('root = ""\n', "root must be a non-empty string"),
        ("tenant = 3\n", "tenant must be a non-empty string"),
        ('storage_options = "anon"\n', "storage_options must be a table"),
    ],
)
def test_a_bad_file_is_one_clear_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = _project(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env(environ={}, cwd=str(tmp_path))
    assert str(path) in str(caught.value)
    assert Settings.from_env(environ={"ARCO_ROOT": "/x"}, cwd=str(tmp_path)).root == "/x", (
        "with ARCO_ROOT set the file is not read at all"
    )


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        load_project(str(tmp_path / "missing" / "arco.toml"))


@pytest.mark.parametrize("root", [".arco", "s3://bucket/lake", 'we"ird\\ lake ✓', "C:\\data"])
def test_the_written_file_reads_back(tmp_path: Path, root: str) -> None:
    path = _project(tmp_path, project_text(root))
    project = load_project(str(path))
    expected = root if "://" in root else str((tmp_path / root).resolve())
    assert project.root == expected
    assert (project.tenant, project.workspace, project.storage_options) == (None, None, {})
