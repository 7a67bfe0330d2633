# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Loading, unloading and configuring the extension."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from arco_nb import __version__
from tests.notebook.conftest import TestingShell


def test_loading_says_where_metadata_goes(
    ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%unload_ext arco")
    ip.run_cell("%load_ext arco")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"Arco {__version__}: metadata in ")
    assert "(tenant default, workspace default)" in out[0]


def test_environment_picks_the_default_workspace(
    ip: TestingShell, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%unload_ext arco")
    monkeypatch.setenv("ARCO_ROOT", "memory://from-env")
    monkeypatch.setenv("ARCO_TENANT", "acme")
    monkeypatch.setenv("ARCO_WORKSPACE", "lab")
    ip.run_cell("%config Arco.root = None")
    ip.run_cell("%load_ext arco")
    assert "memory://from-env (tenant acme, workspace lab)" in capsys.readouterr().out


def test_help_lists_every_command(ip: TestingShell) -> None:
    from arco_nb.notebook.commands import COMMANDS

    text = repr(ip.out("%arco help"))
    assert f"Arco {__version__}" in text
    assert "%%asset NAME" in text
    for name in COMMANDS:
        assert f"%arco {name}" in text
    assert repr(ip.out("%arco")) == text, "bare %arco is help"


def test_unknown_subcommand_suggests_one(ip: TestingShell) -> None:
    with pytest.raises(UsageError, match=r"Unknown command %arco rnu\. Did you mean %arco run\?"):
        ip.run_cell("%arco rnu")
    with pytest.raises(UsageError, match="only %%arco sql"):
        ip.run_cell("%%arco assets\nselect 1")


def test_unload_and_reload_are_clean(ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    from arco_nb.notebook.extension import Arco

    ip.run_cell("%unload_ext arco")
    assert "arco" not in ip.magics_manager.magics["line"]
    assert "asset" not in ip.magics_manager.magics["cell"]
    assert not any(isinstance(c, Arco) for c in ip.configurables)
    ip.run_cell("%load_ext arco")
    ip.run_cell("%load_ext arco")  # a second load is harmless
    assert sum(isinstance(c, Arco) for c in ip.configurables) == 1
    assert capsys.readouterr().out.count("metadata in") == 1


def test_arco_nb_is_an_extension_too(ip: TestingShell) -> None:
    ip.run_cell("%unload_ext arco")
    ip.run_cell("%load_ext arco_nb")
    assert "arco" in ip.magics_manager.magics["line"]
    ip.run_cell("%unload_ext arco_nb")
    assert "arco" not in ip.magics_manager.magics["line"]


def test_settings_are_traitlets(ip: TestingShell, root: str) -> None:
    ip.run_cell("%config Arco.preview_rows = 1")
    ip.run_cell("%%asset nums\nselect * from range(4) t(n)")
    assert "First 1 of 4 rows" in repr(ip.out("%%asset nums\nselect * from range(4) t(n)"))
    ip.run_cell("%config Arco.root = 'memory://elsewhere-nb'")
    assert "memory://elsewhere-nb" in repr(ip.out("%arco help"))
    # Another workspace: its own definitions count, not the previous one's.
    assert "nums" not in repr(ip.out("%arco assets"))
    from arco_nb.notebook.extension import Arco

    ip.run_cell("%config Arco.executor = 'fork'")  # IPython logs the TraitError
    assert [c.executor for c in ip.configurables if isinstance(c, Arco)] == ["inline"]
    ip.run_cell("%config Arco.executor = 'threads'")
    assert [c.executor for c in ip.configurables if isinstance(c, Arco)] == ["threads"]
    ip.run_cell("%config Arco.executor = 'inline'")
    ip.run_cell(f"%config Arco.root = {root!r}")
    assert "nums" in repr(ip.out("%arco assets")), "and back: restored from its catalog"


LOAD_AND_LIST = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.Arco.warm_up = {warm_up}
InteractiveShell.instance(config=config).run_line_magic("load_ext", "arco")
from arco_nb.notebook import warmup
heavy = {{"pyarrow", "duckdb", "polars", "ipywidgets", "graphviz", "pandas"}}
print(sorted(heavy & set(sys.modules)))
warmup.wait()
print(sorted(heavy & set(sys.modules)))
"""


def _load_and_list(warm_up: bool) -> list[str]:
    import subprocess
    import sys

    code = LOAD_AND_LIST.format(warm_up=warm_up)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-2:]


def test_loading_is_light() -> None:
    assert _load_and_list(warm_up=False) == ["[]", "[]"], "nothing heavy, even later"


def test_the_warm_up_imports_what_a_first_cell_needs_and_nothing_else() -> None:
    _, after = _load_and_list(warm_up=True)
    assert after == "['duckdb', 'polars', 'pyarrow']", "no pandas, widgets or graphviz"


def test_magics_wait_for_the_warm_up(ip: TestingShell, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from arco_nb.notebook import warmup

    release = threading.Event()
    order: list[str] = []

    def slow_imports() -> None:
        release.wait(10)
        order.append("warm-up done")

    monkeypatch.setattr(warmup, "_started", [])
    monkeypatch.setattr(warmup, "_import_all", slow_imports)
    warmup.start()
    magic = threading.Thread(target=lambda: order.append(repr(ip.out("%arco help"))[:4]))
    magic.start()
    time.sleep(0.2)
    assert order == [], "the magic is waiting"
    release.set()
    magic.join(10)
    assert order[0] == "warm-up done"
    assert len(order) == 2
