# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Execute the tutorials and store their outputs, as `make nbval` will check them.

They run as a user runs them in JupyterLab: one after the other, each in a fresh kernel, all
against one store found through an ``arco.toml`` (in a temporary copy of the project, so the
repository's own store is left alone); each tutorial works in a workspace of its own. The
temporary folder is shown as ``~`` in the stored outputs, which must never hold a path of the
machine that ran them. A notebook whose outputs differ from the stored ones only where
``notebooks/sanitize.cfg`` says they may (ids, times, durations) is left as it is, so a refresh
changes only what really changed. Usage: ``python scripts/refresh-notebooks.py [NOTEBOOK ...]``
(default: every notebook in ``notebooks/``).
"""

from __future__ import annotations

import configparser
import os
import re
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
            if _sanitized(nb) == _sanitized(nbformat.read(path, as_version=4)):
                print(f"unchanged {path}")
                continue
            nbformat.write(nb, path)
            print(f"refreshed {path}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        os.environ.update(saved)


# What nbval leaves out of its comparison.
_SKIPPED = ("metadata", "traceback", "execution_count", "application/vnd.jupyter.widget-view+json")


def _sanitized(nb: nbformat.NotebookNode) -> list[object]:
    """Each code cell's outputs as nbval compares them: sanitizers applied to every text."""
    config = configparser.ConfigParser()
    config.read("notebooks/sanitize.cfg")
    rules = [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]

    def clean(value: object) -> object:
        if isinstance(value, str):
            for regex, replace in rules:
                value = regex.sub(replace, value)
            return value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in _SKIPPED}
        return value

    return [clean(list(c.outputs)) for c in nb.cells if c.cell_type == "code"]


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
