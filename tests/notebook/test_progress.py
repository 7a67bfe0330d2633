# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%arco run`` in a real kernel: a live display of the run's tasks, updated in place and
emptied when the summary table arrives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notebook.conftest import TestingShell


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(kc: Any, code: str) -> list[dict[str, Any]]:
    """Run ``code``; the iopub messages it caused, up to its end."""
    msg_id = kc.execute(code)
    found = []
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return found
        found.append(msg)


def _slow_asset(name: str, deps: str = "") -> str:
    upstream = f" --deps {deps}" if deps else ""
    value = deps or "pl.DataFrame({'x': [1]})"
    body = f"import time\nimport polars as pl\ntime.sleep(0.3)\n{value}"
    return f"%%asset {name}{upstream} --no-run\n{body}"


@pytest.mark.slow
def test_arco_run_shows_its_tasks_live_then_only_the_summary(kernel: Any, tmp_path: Path) -> None:
    setup = _execute(kernel, f"%load_ext arco\n%config Arco.root = {str(tmp_path / 'lake')!r}")
    assert not [m for m in setup if m["msg_type"] == "error"]
    for cell in (
        _slow_asset("first"),
        _slow_asset("second", "first"),
        _slow_asset("third", "second"),
    ):
        assert not [m for m in _execute(kernel, cell) if m["msg_type"] == "error"]

    messages = _execute(kernel, "%arco run")
    kinds = [m["msg_type"] for m in messages]
    assert "error" not in kinds, messages
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    assert len(shown) == 1, "one display, made as the run starts"
    assert shown[0]["content"]["data"]["text/plain"] == "", "empty, as it will end"
    display_id = shown[0]["content"]["transient"]["display_id"]
    updates = [
        m["content"]["data"]["text/plain"]
        for m in messages
        if m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == display_id
    ]
    live = [u for u in updates if u]
    assert live, "the display was updated while tasks ran"
    assert all("/3 tasks" in u for u in live)
    assert any("running" in u for u in live)
    assert "█" in live[-1]
    assert updates[-1] == "", "emptied at the end: the summary is the cell's result"
    [result] = [m for m in messages if m["msg_type"] == "execute_result"]
    assert "3 materialized" in result["content"]["data"]["text/plain"]
    assert kinds.index("execute_result") > max(
        i for i, k in enumerate(kinds) if k == "update_display_data"
    )


def test_no_progress_display_outside_a_kernel(
    ip: TestingShell, capsys: pytest.CaptureFixture[str]
) -> None:
    """A terminal IPython cannot update a display in place: it would print every update."""
    ip.run_cell("%%asset a --no-run\nselect 1 as x")
    ip.run_cell("%%asset b --no-run\nselect * from a")
    table = ip.out("%arco run")
    assert "2 materialized" in repr(table)
    printed = capsys.readouterr().out
    assert "█" not in printed
