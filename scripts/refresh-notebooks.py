# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Execute notebooks and store their outputs, as `make nbval` will check them.

Each notebook runs in a fresh kernel against a fresh ``ARCO_ROOT`` (a temporary directory), so
its outputs do not depend on what ran before. Usage: ``python scripts/refresh-notebooks.py
notebooks/01_quickstart.ipynb ...`` (default: every notebook).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def refresh(path: Path) -> None:
    root = tempfile.mkdtemp(prefix="arco-nb-root-")
    previous = os.environ.get("ARCO_ROOT")
    os.environ["ARCO_ROOT"] = root
    try:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        nbformat.write(nb, path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if previous is None:
            os.environ.pop("ARCO_ROOT", None)
        else:
            os.environ["ARCO_ROOT"] = previous
    print(f"refreshed {path}")


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("notebooks").glob("*.ipynb"))
    for notebook in paths:
        refresh(notebook)
