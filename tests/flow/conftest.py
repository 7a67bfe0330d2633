# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures for the flow tests (the Dask cluster, ``dask_client``, is in ``tests/conftest.py``:
the notebook tests use it too)."""

from __future__ import annotations

import pytest

from arco_nb import Workspace
from arco_nb.flow.assets import Registry, sql_asset


@pytest.fixture
def days(memory_root: str) -> Workspace:
    """A workspace whose one asset, ``days``, has static partitions a, b and c, each one row
    holding its own key."""
    registry = Registry()
    sql_asset(
        "days",
        "select getvariable('partition_key') as day",
        partitions="static:a,b,c",
        registry=registry,
    )
    return Workspace(memory_root, registry=registry)
