# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from arco_nb import ObjectStore, TenantScope
from arco_nb.catalog.catalog import Catalog
from tests.conftest import S3Endpoint

ORDERS = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("amount", pa.float64(), metadata={"description": "in EUR"}),
        pa.field("placed_at", pa.timestamp("us", tz="UTC")),
    ]
)


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, memory_root: str, local_root: str) -> ObjectStore:
    root = memory_root if request.param == "memory" else local_root
    return TenantScope(root, tenant="acme").store()


@pytest.fixture
def s3_store(s3_root: str, s3_endpoint: S3Endpoint) -> ObjectStore:
    options: dict[str, Any] = dict(s3_endpoint.storage_options)
    return TenantScope(s3_root, tenant="acme", storage_options=options).store()


@pytest.fixture
def catalog(store: ObjectStore) -> Catalog:
    return Catalog(store, author="tester", min_wait=0.001, max_wait=0.01)


def record_reads(store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys ``store`` reads from now on, in order (the list fills as it reads)."""
    read: list[str] = []
    real = store.read

    def recording(key: str) -> bytes:
        read.append(key)
        return real(key)

    monkeypatch.setattr(store, "read", recording)
    return read
