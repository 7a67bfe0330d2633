# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Many processes committing to one catalog: every commit lands exactly once."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest

from arco_nb import ObjectStore
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.model import AssetDef
from arco_nb.catalog.operations import DefineAsset

PROCESSES = 8
COMMITS = 20


def _writer(url: str, options: dict[str, Any], writer: int, start: Any, out: Any) -> None:
    # Default settings: 8 writers on one log is contention, not conflict, and must not fail.
    catalog = Catalog(ObjectStore(url, storage_options=options), author=f"writer-{writer}")
    start.wait()
    acked: list[tuple[int, str]] = []
    try:
        for i in range(COMMITS):
            record = catalog.commit([DefineAsset(AssetDef(f"w{writer}_{i}", "python"))])
            acked.append((record.version, f"w{writer}_{i}"))
    except Exception as exc:  # reported to the test, which fails with it
        out.put(f"writer {writer}, commit {len(acked)}: {type(exc).__name__}: {exc}")
        return
    out.put(acked)


def _hammer(store: ObjectStore) -> None:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(store.url, store.storage_options, w, start, out))
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    assert [r for r in results if isinstance(r, str)] == [], "no commit may fail"
    acked = [item for found in results for item in found]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    catalog = Catalog(store)
    total = PROCESSES * COMMITS
    assert catalog.version == total
    assert sorted(v for v, _ in acked) == list(range(1, total + 1)), "each version acked once"
    history = catalog.history()
    assert [h.version for h in history] == list(range(1, total + 1))
    by_version = {h.version: h for h in history}
    for version, name in acked:
        (op,) = by_version[version].operations
        assert isinstance(op, DefineAsset)
        assert op.asset.name == name
    expected = sorted(name for _, name in acked)
    assert catalog.list_assets() == expected
    for version in range(total + 1):  # every version stays readable
        assert len(catalog.as_of(version).list_assets()) == version
    assert len(catalog.as_of(total).list_assets()) == total


@pytest.mark.slow
def test_eight_processes_twenty_commits_each_local(local_root: str) -> None:
    from arco_nb import TenantScope

    _hammer(TenantScope(local_root, tenant="acme").store())


@pytest.mark.slow
@pytest.mark.s3
def test_eight_processes_twenty_commits_each_s3(s3_store: ObjectStore) -> None:
    _hammer(s3_store)
