# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures for the flow tests: a real Dask cluster on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A ``distributed.Client`` of a ``LocalCluster`` with two worker processes."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )  # ":0", not None: the scheduler's HTTP server starts anyway and, on 8787 already
    # taken by a parallel test process, warns (an error here) before picking another port
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
