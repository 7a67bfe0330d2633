# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Two users redefining and running assets on one workspace at once lose no definition."""

from __future__ import annotations

import threading
from pathlib import Path

from arco_nb import Workspace
from arco_nb.flow.assets import Registry, sql_asset

ITERATIONS = 12


def _user(root: str, user: str, start: threading.Barrier, errors: list[BaseException]) -> None:
    registry = Registry()
    ws = Workspace(root, registry=registry)  # default settings: no tuned retries
    start.wait()
    try:
        for i in range(ITERATIONS):
            # Both users redefine "shared" (a real conflict when they race) and their own
            # asset (which must be recorded whatever happens to "shared").
            sql_asset("shared", f"select '{user}' as who, {i} as i", registry=registry)
            sql_asset(f"own_{user}", f"select who, i, {i} as mine from shared", registry=registry)
            assert ws.run().status == "succeeded"
    except BaseException as exc:  # reported to the test
        errors.append(exc)


def test_every_materialization_has_a_definition_the_catalog_recorded(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    users = [threading.Thread(target=_user, args=(root, u, start, errors)) for u in "ab"]
    for thread in users:
        thread.start()
    for thread in users:
        thread.join(timeout=300)
    assert errors == []
    ws = Workspace(root)
    made = set(ws.sql("select distinct asset, code_version from arco.materializations").fetchall())
    assert len(made) >= 3 * ITERATIONS  # every iteration changed code: each is new
    catalog = ws.catalog
    recorded = {
        (name, record.code_version)
        for version in range(1, catalog.version + 1)
        for name, record in catalog.as_of(version).state.assets.items()
    }
    assert made - recorded == set()
    history = [record.version for record in catalog.history()]
    assert history == list(range(1, catalog.version + 1))
