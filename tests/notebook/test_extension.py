# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from arco_nb import __version__
from tests.notebook.conftest import TestingShell


def test_help_lists_only_what_exists(ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%arco help")
    out = capsys.readouterr().out
    assert f"Arco {__version__}" in out
    assert "%arco help" in out
    assert "Not available yet: the %%asset cell magic" in out


def test_bare_arco_shows_help(ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%arco")
    assert "%arco help" in capsys.readouterr().out


def test_unknown_subcommand_is_one_usage_error(ip: TestingShell) -> None:
    with pytest.raises(UsageError, match=r"%arco run is not available .* `%arco help`"):
        ip.run_cell("%arco run orders")


def test_unload_removes_the_magic_and_reload_restores_it(
    ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%unload_ext arco")
    assert "arco" not in ip.magics_manager.magics["line"]
    ip.run_cell("%load_ext arco")
    ip.run_cell("%load_ext arco")  # a second load is harmless
    ip.run_cell("%arco help")
    assert capsys.readouterr().out.count("Available now") == 1


def test_arco_nb_is_an_extension_too(ip: TestingShell) -> None:
    ip.run_cell("%unload_ext arco")
    ip.run_cell("%load_ext arco_nb")
    assert "arco" in ip.magics_manager.magics["line"]
    ip.run_cell("%unload_ext arco_nb")
    assert "arco" not in ip.magics_manager.magics["line"]
