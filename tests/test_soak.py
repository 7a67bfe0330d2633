# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Soak: writers, compaction and gc on one workspace, with writers killed at random; then
nothing acknowledged is missing and the workspace is consistent.

Three pipeline workers redefine their own assets (``%%asset``-style, new code every time) and
run them with an asset all of them define identically and a slow Python asset; one worker
compacts and collects garbage in a loop with grace periods of seconds. For the first phase the
test kills a random worker with SIGKILL every few seconds (every other time, a pipeline worker
in the middle of a run) and starts it again; then it lets them work for
longer than a run lease (60 s, the default), so that every killed run has become
``abandoned``. Every setting is the default but the grace periods.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from arco_nb import Workspace
from arco_nb.catalog.operations import DefineAsset
from arco_nb.catalog.parquet import read_parquet_object
from arco_nb.core.settings import DEFAULT_RUN_LEASE

WORKER = Path(__file__).with_name("soak_worker.py")
PIPELINES = ("p1", "p2", "p3")
KILLING = 40.0  # seconds of random kills
CALM = DEFAULT_RUN_LEASE + 5  # then longer than a lease, so every killed run has expired
STAMP = re.compile(r"select x, (\d+) as v")


def _start(kind: str, name: str, root: str, folder: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), kind, name, root, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    with proc.stdout:  # the worker prints nothing after this line
        assert proc.stdout.readline().strip() == "READY"
    return proc


def _wait_for_a_run(marker: Path) -> bool:
    """Wait until the worker's slow asset starts (the marker is rewritten): a run is on."""
    before = marker.read_text() if marker.exists() else ""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text() not in ("", before):
            return True
        time.sleep(0.01)
    return False


def _acks(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / f"{name}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    acks = []
    for line in lines:
        try:
            acks.append(json.loads(line))
        except json.JSONDecodeError:  # the line being written when the worker was killed
            continue
    return acks


@pytest.mark.slow
def test_soak(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    folder = tmp_path / "acks"
    folder.mkdir()
    kinds = dict.fromkeys(PIPELINES, "pipeline") | {"m": "maintain"}
    procs = {name: _start(kind, name, root, folder) for name, kind in kinds.items()}
    rng = random.Random(11)
    kills = 0
    end_of_kills = time.monotonic() + KILLING
    in_run = 0
    while time.monotonic() < end_of_kills:
        time.sleep(rng.uniform(1.5, 4.0))
        victim = rng.choice(sorted(procs))
        if (
            kills % 2
            and kinds[victim] == "pipeline"
            and _wait_for_a_run(folder / f"{victim}.in-run")
        ):
            in_run += 1  # its run's queued and running events are recorded: it will expire
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        kills += 1
        procs[victim] = _start(kinds[victim], victim, root, folder)
    time.sleep(CALM)
    (folder / "stop").touch()
    for proc in procs.values():
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - reported below
            proc.kill()
            pytest.fail("a worker did not stop within 60 s of being asked")

    acks = {name: _acks(folder, name) for name in kinds}
    errors = [a for name in kinds for a in acks[name] if a["op"] == "error"]
    assert not errors, errors[0]["trace"]  # no CommitConflict (no real conflict here), nothing
    runs = [a for name in PIPELINES for a in acks[name] if a["op"] == "run"]
    defines = [a for name in PIPELINES for a in acks[name] if a["op"] == "define"]
    assert kills >= 10
    assert len(runs) >= 30, "the workers did real work"
    assert sum(a["op"] == "compact" for a in acks["m"]) >= 10
    assert sum(a["op"] == "gc" for a in acks["m"]) >= 10

    ws = Workspace(root)
    # Catalog: contiguous history; every acknowledged definition is in it, the newest last.
    history = ws.catalog.history()
    assert [c.version for c in history] == list(range(1, len(history) + 1))
    defined: dict[str, set[str]] = {}
    stamps: dict[str, set[int]] = {}
    for commit in history:
        for op in commit.operations:
            if isinstance(op, DefineAsset):
                defined.setdefault(op.asset.name, set()).add(op.asset.code_version)
                stamps.setdefault(op.asset.name, set()).update(
                    map(int, STAMP.findall(op.asset.code))
                )
    for ack in defines:
        assert ack["stamp"] in stamps[ack["asset"]], f"acknowledged definition lost: {ack}"
    for name in PIPELINES:
        newest = max(a["stamp"] for a in defines if a["asset"] == f"{name}_a")
        (final,) = STAMP.findall(ws.catalog.state.assets[f"{name}_a"].code)
        assert int(final) >= newest, "an older definition overwrote an acknowledged newer one"

    # Runs: every acknowledged one is there with its status; none is left running.
    listed = {r.run_id: r.status for r in ws.runs(limit=None)}
    for ack in runs:
        assert ack["status"] == "succeeded", ack
        assert listed[ack["run_id"]] == "succeeded"
    assert set(listed.values()) <= {"succeeded", "abandoned"}, listed
    assert sum(s == "abandoned" for s in listed.values()) >= in_run >= 1

    # Materializations: every acknowledged one is recorded, with its data file readable, and
    # was made by a definition the catalog recorded.
    recorded = {
        row[0]: row[1:]
        for row in ws.sql(
            "select materialization_id, asset, path, code_version from arco.materializations"
        ).fetchall()
    }
    for ack in runs:
        for asset, mid in ack["materializations"].items():
            if not mid:
                continue  # up to date: nothing materialized
            assert mid in recorded, (asset, mid)
            _, path, code_version = recorded[mid]
            assert read_parquet_object(ws.store, path).num_rows > 0
            assert code_version in defined[asset]
    for name in PIPELINES:
        assert ws.read(f"{name}_b").num_rows == 1

    report = ws.doctor()
    assert report.clean, report.findings
    abandoned = sum(s == "abandoned" for s in listed.values())
    print(
        f"\nsoak: {kills} kills; acknowledged: {len(runs)} runs, {len(defines)} definitions, "
        f"{sum(a['op'] == 'compact' for a in acks['m'])} compactions, "
        f"{sum(a['op'] == 'gc' for a in acks['m'])} gc passes; {abandoned} runs abandoned "
        f"({in_run} kills timed inside a run); "
        f"catalog at version {len(history)}; doctor checked {dict(report.checked)}"
    )
