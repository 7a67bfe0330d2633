# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A plain (non-editable) install ships both ``arco_nb`` and the thin ``arco`` package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _run(installed: Path, *args: str) -> str:
    # PYTHONPATH puts the installed copy ahead of the editable checkout; cwd keeps the
    # checkout itself off sys.path.
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=installed.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.slow
def test_import_arco_and_arco_nb_from_the_installed_wheel(installed: Path) -> None:
    out = _run(
        installed,
        "-c",
        "import arco, arco_nb; print(arco_nb.__file__); print(arco.__file__); "
        "print(arco.ObjectStore is arco_nb.ObjectStore)",
    )
    nb_file, arco_file, same = out.split()
    assert nb_file.startswith(str(installed))
    assert arco_file.startswith(str(installed))
    assert same == "True"
    assert (installed / "arco_nb" / "py.typed").exists()


def _ipython(installed: Path, code: str, *options: str) -> str:
    return _run(
        installed,
        "-m",
        "IPython",
        "--quick",
        "--no-banner",
        "--colors=NoColor",
        "-c",
        code,
        *options,
    )


@pytest.mark.slow
def test_load_ext_arco_in_a_real_ipython(installed: Path) -> None:
    out = _ipython(installed, "%load_ext arco\n%arco help")
    assert "metadata in " in out
    assert "%%asset NAME" in out
    made = _ipython(
        installed, "%%asset one\nselect 41 + 1 as answer", "--InteractiveShellApp.extensions=arco"
    )
    assert "one: materialized, 1 row in " in made
    assert (installed.parent / ".arco").is_dir(), "the default root is ./.arco"
