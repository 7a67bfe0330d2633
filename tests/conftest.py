# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures shared by every test layer: storage roots on memory://, local disk and moto S3."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from arco_nb import Workspace
from arco_nb.flow.assets import Registry, default_registry

HERE = Path(__file__).parent

# Wall-clock deadlines make property tests flaky on a loaded CI machine; examples stay bounded
# by max_examples, and performance is measured in benches/, not here.
settings.register_profile("arco", deadline=None)
settings.load_profile("arco")


@dataclass(frozen=True)
class S3Endpoint:
    """A running moto S3 server and the options that reach it."""

    endpoint_url: str
    bucket: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    def url(self, *parts: str) -> str:
        return "/".join((f"s3://{self.bucket}", *parts))


def _s3_options(endpoint_url: str) -> dict[str, Any]:
    return {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": endpoint_url,
        "client_kwargs": {"region_name": "us-east-1"},
    }


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """Start a moto S3 server on 127.0.0.1 (free port) and create a bucket on it."""
    log = open(os.environ.get("ARCO_TEST_S3_LOG", os.devnull), "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "s3_server.py")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port_line = proc.stdout.readline().strip()
        if not port_line.isdigit():
            proc.kill()
            proc.communicate(timeout=10)
            raise RuntimeError("moto server did not start (set ARCO_TEST_S3_LOG=file to see why)")
        endpoint_url = f"http://127.0.0.1:{port_line}"
        options = _s3_options(endpoint_url)
        import boto3

        bucket = "arco-test"
        boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        yield S3Endpoint(endpoint_url, bucket, options)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
        log.close()


@pytest.fixture
def memory_root() -> str:
    """A fresh memory:// root (memory stores are process-global, so each test gets its own)."""
    return f"memory://arco-test-{uuid.uuid4().hex}"


@pytest.fixture
def local_root(tmp_path: Path) -> str:
    return str(tmp_path / "root")


@pytest.fixture
def s3_root(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.url(f"run-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _no_arco_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit a developer's ARCO_* settings."""
    for name in list(os.environ):
        if name.startswith("ARCO_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_definitions() -> Iterator[None]:
    """The process-wide asset definitions: every test starts (and ends) without any."""
    default_registry.clear()
    yield
    default_registry.clear()


@pytest.fixture
def registry() -> Registry:
    """This test's own asset definitions."""
    return Registry()


@pytest.fixture
def ws(memory_root: str, registry: Registry) -> Workspace:
    """A workspace on a fresh memory:// root that plans and runs ``registry``'s assets."""
    return Workspace(memory_root, registry=registry)


def in_fresh_interpreter(code: str) -> list[str]:
    """The lines ``code`` prints when a new Python process runs it (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return done.stdout.splitlines()


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
