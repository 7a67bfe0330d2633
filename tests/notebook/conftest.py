# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A real IPython shell for magic tests (after JupySQL's TestingShell)."""

from __future__ import annotations

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


@pytest.fixture
def ip() -> Iterator[TestingShell]:
    shell = TestingShell.instance()
    shell.run_cell("%load_ext arco")
    yield shell
    shell.run_cell("%unload_ext arco")
    shell.extension_manager.loaded.discard("arco")
