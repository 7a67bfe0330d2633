# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Every module of ``arco_nb`` imports on its own, first thing in a fresh interpreter.

An import cycle hides as long as something else happens to import the modules in a lucky
order; importing each module alone is what finds it (``import arco_nb.cli.run_cmd`` once
failed this way).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "arco_nb"


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] == "__main__":
            continue  # running it is the CLI's job, tested there
        names.append(".".join(parts))
    return names


def _import_alone(name: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, check=False
    )
    lines = done.stderr.strip().splitlines()
    return name, (lines[-1] if done.returncode else "")


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = _module_names()
    assert "arco_nb.cli.run_cmd" in names
    assert "arco_nb.core.storage" in names
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {name: error for name, error in pool.map(_import_alone, names) if error}
    assert failures == {}


def test_the_check_can_fail() -> None:
    name, error = _import_alone("arco_nb.no_such_module")
    assert "ModuleNotFoundError" in error, (name, error)


def test_the_cli_loads_a_command_module_only_when_it_is_used() -> None:
    code = (
        "import sys; from arco_nb.cli.app import cli; "
        "before = [m for m in sys.modules if m.startswith('arco_nb.cli.')]; "
        "cli.get_command(None, 'init'); "
        "after = [m for m in sys.modules if m.startswith('arco_nb.cli.')]; "
        "print(sorted(before)); print(sorted(after))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = done.stdout.strip().splitlines()
    assert "cmd" not in before, before
    assert "arco_nb.cli.admin_cmds" in after, after
    assert "arco_nb.cli.run_cmd" not in after, after


COLD_START = """
import os, sys, tempfile
from IPython.core.interactiveshell import InteractiveShell
os.environ["ARCO_ROOT"] = tempfile.mkdtemp()
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "arco")
for cell in ("%%asset first\\nselect 1 as x", "%%asset second\\nselect x + 1 as y from first"):
    assert ip.run_cell(cell).success
assert isinstance(ip.user_ns["second"], __import__("polars").DataFrame)
print("pandas" in sys.modules)
"""


def test_the_first_asset_cells_of_a_fresh_kernel_do_not_import_pandas() -> None:
    """pyarrow imports pandas (0.5 s) on many conversions when it is installed; nothing on
    the way from ``%load_ext arco`` to the first materializations may take that path."""
    import importlib.util

    assert importlib.util.find_spec("pandas") is not None, "installed, so the test can fail"
    command = [sys.executable, "-c", COLD_START]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
