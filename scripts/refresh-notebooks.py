# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Execute the tutorials and store their outputs, as `make nbval` will check them.

They run as a user runs them in JupyterLab: one after the other, each in a fresh kernel, all
against one store found through an ``arco.toml`` (in a temporary copy of the project, so the
repository's own store is left alone); each tutorial works in a workspace of its own. The
temporary folder is shown as ``~`` in the stored outputs, which must never hold a path of the
machine that ran them. Usage: ``python scripts/refresh-notebooks.py [NOTEBOOK ...]`` (default:
every notebook in ``notebooks/``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ARCO_VARIABLES = ("ARCO_ROOT", "ARCO_TENANT", "ARCO_WORKSPACE", "ARCO_STORAGE_OPTIONS")


def refresh(paths: list[Path]) -> None:
    home = Path(tempfile.mkdtemp(prefix="arco-nb-home-"))
    project = home / "arco"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy("arco.toml", project / "arco.toml")
    saved = {name: os.environ.pop(name) for name in ARCO_VARIABLES if name in os.environ}
    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                timeout=300,
                kernel_name="python3",
                resources={"metadata": {"path": str(project / "notebooks")}},
            ).execute()
            _hide(nb, str(home), "~")
            nbformat.write(nb, path)
            print(f"refreshed {path}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        os.environ.update(saved)


def _hide(nb: nbformat.NotebookNode, path: str, shown: str) -> None:
    """Replace ``path`` by ``shown`` in every output's text."""

    def clean(value: object) -> object:
        if isinstance(value, str):
            return value.replace(path, shown)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(clean(o)) for o in cell.outputs]


if __name__ == "__main__":
    chosen = [Path(p) for p in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    refresh(chosen)
