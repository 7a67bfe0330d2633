# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Run notebooks/01_quickstart.ipynb headless against ./.arco, then write its lineage as SVG.

This is what ``make demo`` does after the storage and metadata tours. The notebook runs in a
real Jupyter kernel; its outputs are not written back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from arco_nb import Workspace
from arco_nb.flow.lineage import NO_DOT
from arco_nb.notebook.lineage_view import LineageView

HERE = Path(__file__).resolve().parent.parent
NOTEBOOK = HERE / "notebooks" / "01_quickstart.ipynb"


def main() -> int:
    root = os.environ.get("ARCO_ROOT") or str(Path(".arco").resolve())
    os.environ["ARCO_ROOT"] = root
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    print(
        f"Ran {NOTEBOOK.name} headless: {sum(c.cell_type == 'code' for c in nb.cells)} code cells"
    )
    ws = Workspace(root)
    ws.restore()
    for info in ws.assets():
        print(f"  {info.name:<22} {info.kind:<7} {info.status:<11} {info.rows} rows")
    view = LineageView(ws.lineage("orders_clean", up=2, down=2))
    svg = view.svg()
    if svg is None:
        print(NO_DOT)
        print(view)
        return 0
    target = Path(root if "://" not in root else ".") / "quickstart-lineage.svg"
    target.write_text(svg, encoding="utf-8")
    print(f"Lineage of orders_clean written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
