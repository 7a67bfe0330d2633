# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Architecture rules (DESIGN §1), enforced on the source.

* Layers import only downwards: core < catalog < flow < workspace < notebook, cli (the last two
  are peers and do not import each other). ``workspace`` is ``arco_nb/workspace.py`` and the
  modules it is made of; the package root (``arco_nb/__init__.py``) re-exports the public API.
* Only ``notebook`` imports IPython or ipywidgets; graphviz only in ``notebook`` and ``cli``.
* ``import arco_nb`` stays light: no IPython, pyarrow, DuckDB, polars, graphviz or ipywidgets.
* No ``utils`` modules; no module past 600 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "arco_nb"
RANK = {"core": 0, "catalog": 1, "flow": 2, "workspace": 3, "notebook": 4, "cli": 4}
# Top-level modules that form a layer of their own: the Workspace facade and its parts.
TOP_LEVEL = {"workspace": "workspace"}
UI_ONLY = {"IPython": {"notebook"}, "ipywidgets": {"notebook"}, "graphviz": {"notebook", "cli"}}
HEAVY = ["IPython", "pyarrow", "duckdb", "polars", "graphviz", "ipywidgets"]


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _layer(path: Path, root: Path = PACKAGE) -> str | None:
    parts = path.relative_to(root).parts
    if len(parts) == 1:
        return TOP_LEVEL.get(path.stem)
    return parts[0] if parts[0] in RANK else None


def _target_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "arco_nb" or len(parts) < 2:
        return None
    return TOP_LEVEL.get(parts[1]) or (parts[1] if parts[1] in RANK else None)


def _imports(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(("arco_nb", *path.relative_to(root).parts[:-1]))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append(module)
            found.extend(f"{module}.{alias.name}" for alias in node.names)
    return found


def _layer_violations(path: Path, root: Path = PACKAGE) -> list[str]:
    layer = _layer(path, root)
    if layer is None:
        return []  # the facade may import any layer
    bad = []
    for module in _imports(path, root):
        target = _target_layer(module)
        if target is None:
            continue
        if not (RANK[target] < RANK[layer] or target == layer):
            bad.append(f"{path.relative_to(root)} ({layer}) imports {module} ({target})")
    return bad


def _ui_violations(path: Path, root: Path = PACKAGE) -> list[str]:
    layer = _layer(path, root)
    return [
        f"{path.relative_to(root)} imports {module}"
        for module in _imports(path, root)
        if layer not in UI_ONLY.get(module.split(".")[0], {layer})
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_only_import_downwards(path: Path) -> None:
    assert _layer_violations(path) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_ui_libraries_stay_in_the_ui_layers(path: Path) -> None:
    assert _ui_violations(path) == []


def test_no_utils_modules_and_no_huge_modules() -> None:
    for path in _modules():
        assert "util" not in path.stem, f"{path}: put shared primitives in arco_nb/core"
        lines = len(path.read_text().splitlines())
        assert lines <= 600, f"{path} has {lines} lines; split it"


def test_the_checker_catches_violations(tmp_path: Path) -> None:
    # The rules must be able to fail, or the tests above prove nothing.
    root = tmp_path / "arco_nb"
    probe = root / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..flow import x\nimport arco_nb.catalog.log\nimport IPython\n")
    assert _layer_violations(probe, root) == [
        "core/probe.py (core) imports arco_nb.flow (flow)",
        "core/probe.py (core) imports arco_nb.flow.x (flow)",
        "core/probe.py (core) imports arco_nb.catalog.log (catalog)",
    ]
    assert _ui_violations(probe, root) == ["core/probe.py imports IPython"]
    upward = root / "flow" / "probe.py"
    upward.parent.mkdir()
    upward.write_text("def f():\n    from arco_nb.workspace import Workspace\n")
    assert _layer_violations(upward, root) == [
        "flow/probe.py (flow) imports arco_nb.workspace (workspace)",
        "flow/probe.py (flow) imports arco_nb.workspace.Workspace (workspace)",
    ]
    facade_part = root / "workspace.py"
    facade_part.write_text("import arco_nb.notebook.browser\n")
    assert _layer_violations(facade_part, root) == [
        "workspace.py (workspace) imports arco_nb.notebook.browser (notebook)"
    ]
    peer = root / "cli" / "main.py"
    peer.parent.mkdir()
    peer.write_text("from arco_nb.notebook import magics\nimport graphviz\n")
    assert len(_layer_violations(peer, root)) == 2
    assert _ui_violations(peer, root) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of ``graph`` found by a depth-first search (each reported once per entry)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def _module_graph(package: Path, root: Path = PACKAGE) -> dict[str, set[str]]:
    """Imports between the modules of one subpackage, lazy (function-level) imports included."""
    names = {p.stem: p for p in package.glob("*.py") if p.stem != "__init__"}
    prefix = ".".join(("arco_nb", *package.relative_to(root).parts))
    return {
        name: {
            m.split(".")[len(prefix.split("."))]
            for m in _imports(path, root)
            if m.startswith(prefix + ".") and m.split(".")[len(prefix.split("."))] in names
        }
        - {name}
        for name, path in names.items()
    }


def test_core_is_a_dag() -> None:
    assert _cycles(_module_graph(PACKAGE / "core")) == []


def test_the_cycle_finder_finds_cycles(tmp_path: Path) -> None:
    core = tmp_path / "arco_nb" / "core"
    core.mkdir(parents=True)
    (core / "a.py").write_text("from arco_nb.core.b import x\n")
    (core / "b.py").write_text("def f():\n    from arco_nb.core import a\n")
    (core / "c.py").write_text("import arco_nb.core.a\n")
    assert _cycles(_module_graph(core, tmp_path / "arco_nb")) == [["a", "b", "a"]]


def test_import_arco_nb_is_light() -> None:
    code = (
        "import sys, arco_nb, arco_nb.core.storage, arco_nb.core.ids; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import arco_nb loaded {out}"
