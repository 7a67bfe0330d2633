# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Object-store primitives on local disk and memory:// (figures in docs/performance.md)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from arco_nb import ObjectStore
from arco_nb.core.ids import canonical_json, new_id

RECORD = canonical_json({"version": 1, "commit_id": new_id(), "operations": [{"op": "x"}] * 4})


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    root = f"memory://bench-{new_id()}" if request.param == "memory" else str(tmp_path)
    return ObjectStore(root)


def test_put_if_absent_small(benchmark, store: ObjectStore) -> None:
    counter = itertools.count()
    benchmark(lambda: store.put_if_absent(f"_log/{next(counter):020d}.json", RECORD))


def test_write_small(benchmark, store: ObjectStore) -> None:
    benchmark(store.write, "hint.json", RECORD)


def test_read_small(benchmark, store: ObjectStore) -> None:
    store.write("r.json", RECORD)
    benchmark(store.read, "r.json")


def test_list_1000(benchmark, store: ObjectStore) -> None:
    for i in range(1000):
        store.write(f"inbox/{i:06d}.json", RECORD)
    keys = benchmark(store.list, "inbox")
    assert len(keys) == 1000


def test_new_id(benchmark) -> None:
    benchmark(new_id)


def test_canonical_json(benchmark) -> None:
    benchmark(canonical_json, {"kind": "task.succeeded", "run_id": new_id(), "rows": 10})
