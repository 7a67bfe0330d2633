# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A real IPython shell for magic tests (after JupySQL's TestingShell)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell


class TestingShell(InteractiveShell):
    """An ``InteractiveShell`` whose ``run_cell`` re-raises the cell's error."""

    __test__ = False  # a fixture class, not a test class

    def run_cell(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result

    def out(self, cell: str) -> Any:
        """Run ``cell`` and return its value."""
        return self.run_cell(cell).result


@pytest.fixture
def root() -> str:
    return f"memory://nb-{uuid.uuid4().hex}"


@pytest.fixture
def ip(root: str) -> Iterator[TestingShell]:
    shell = TestingShell.instance()
    shell.run_cell("%load_ext arco")
    shell.run_cell(f"%config Arco.root = {root!r}")
    yield shell
    shell.run_cell("%unload_ext arco")
    shell.extension_manager.loaded.discard("arco")
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in shell.user_ns_hidden:
            del shell.user_ns[name]
