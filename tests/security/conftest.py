# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Fixtures of the security suite: two tenants on one root, and a fingerprint of everything.

``two_tenants`` builds one root per backend (local disk, ``memory://``, and a bucket of its own
on the moto S3 server), once per session, holding the workspaces of ``acme`` (the attacker in
every test) and ``globex`` (the victim). Each tenant has a namespace and a table, SQL and Python
assets materialized (one of them partitioned), a failed run, compacted events and events still
in the inbox. Every value a tenant stores carries a marker (:data:`SECRETS`) that must never
show up on the other side.

:func:`fingerprint` hashes every object (and, on local disk, every directory) under the root
*and* beside it: a write that escapes the root altogether lands in ``outside/``, which is
fingerprinted too. ``TwoTenants.untouched()`` asserts that a block changed none of it, and
``changes_only_below()`` that it changed only what a test may (a tenant's own prefix).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from arco_nb import StaticPartitions, Workspace
from arco_nb.core.syncer import drain
from arco_nb.flow.assets import Registry, asset, sql_asset

if TYPE_CHECKING:
    import polars as pl
    from fsspec import AbstractFileSystem

    from tests.conftest import S3Endpoint

TENANTS = ("acme", "globex")
#: A marker in every value each tenant stores (data, descriptions, code, errors).
SECRETS = {"acme": "acme-own-5e1f", "globex": "globex-secret-c41d"}
#: The successful assets of each tenant (the catalog also holds ``broken``, which failed).
ASSETS = ("orders", "regional", "totals")
ORDERS = pa.schema([("id", pa.int64()), ("customer", pa.string()), ("amount", pa.float64())])
BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("memory", id="memory"),
    pytest.param("s3", id="s3", marks=pytest.mark.s3),
]


def fingerprint(
    fs: AbstractFileSystem, base: str, cache: dict[tuple[str, ...], str] | None = None
) -> dict[str, str]:
    """sha256 of every object below ``base`` (an fsspec path), and ``dir`` for each directory.

    ``cache`` maps what a listing says of an object (path, size, ETag, modification time) to
    its hash, so that only objects whose listing changed are fetched again: a moto request
    costs ~15 ms, and every check would otherwise fetch every object. Any write changes an
    object's ETag (the MD5 of its bytes) and time, so a cached hash is never stale.
    """
    found = fs.find(base, withdirs=True, detail=True)
    files = sorted(p for p, info in found.items() if info["type"] != "directory")
    stamps = {p: _stamp(p, found[p]) for p in files}
    if cache is None:
        cache = {}
    missing = [p for p in files if stamps[p] not in cache]
    for path, data in (fs.cat(missing) if missing else {}).items():
        cache[stamps[path]] = hashlib.sha256(data).hexdigest()
    prints = {p: cache[stamps[p]] for p in files}
    prints.update({f"{p}/": "dir" for p, info in found.items() if info["type"] == "directory"})
    return prints


def _stamp(path: str, info: Mapping[str, Any]) -> tuple[str, ...]:
    etag = info.get("ETag") or info.get("etag")
    modified = info.get("LastModified") or info.get("mtime")
    if etag is None or modified is None:  # not an object store: read it every time
        return (path, uuid.uuid4().hex)
    return (path, str(info.get("size")), str(etag), str(modified))


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    """What differs between two fingerprints (three empty lists: nothing)."""
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(k for k in before.keys() & after.keys() if before[k] != after[k]),
    }


def assert_unchanged(before: Mapping[str, str], after: Mapping[str, str]) -> None:
    """Fail, listing what changed, unless both fingerprints are identical."""
    assert changes(before, after) == {"added": [], "removed": [], "changed": []}
    assert before == after


@dataclass
class TwoTenants:
    """One root with two filled tenants, and how to name (and fingerprint) what is stored."""

    backend: str
    fs: AbstractFileSystem
    base: str  # fsspec path the fingerprint covers: the root, and ``outside/`` beside it
    root: str  # the root URL (local path, or s3://bucket/lake)
    outside: str  # a directory beside the root, belonging to no tenant (local path or URL)
    storage_options: dict[str, Any]
    acme: Workspace
    globex: Workspace
    registries: dict[str, Registry] = field(default_factory=dict)
    # The fingerprint after the last check, which the next one compares with.
    _baseline: dict[str, str] | None = None
    _hashes: dict[tuple[str, ...], str] = field(default_factory=dict)

    def workspace(self, tenant: str, workspace: str = "default", **kwargs: Any) -> Workspace:
        """A new ``Workspace`` object (no cached state) of ``tenant`` on this root, with the
        tenant's asset definitions unless ``registry`` says otherwise."""
        kwargs.setdefault("sandbox", False)
        kwargs.setdefault("registry", self.registries.get(tenant))
        return Workspace(
            self.root,
            tenant=tenant,
            workspace=workspace,
            storage_options=self.storage_options,
            **kwargs,
        )

    def ws(self, tenant: str) -> Workspace:
        return {"acme": self.acme, "globex": self.globex}[tenant]

    def url(self, tenant: str, key: str) -> str:
        """The path (local) or URL (S3) of ``tenant``'s object ``key``: what SQL would name."""
        return f"{self.ws(tenant).scope.url}/{key}"

    def keys(self, tenant: str, pattern: str = "*") -> list[str]:
        """Keys of ``tenant``'s objects matching ``pattern`` (fnmatch; ``*`` spans ``/``)."""
        found = [k for k in self.ws(tenant).store.list() if fnmatch.fnmatchcase(k, pattern)]
        assert found, f"{tenant} has no object matching {pattern!r}"
        return found

    def key(self, tenant: str, pattern: str) -> str:
        """The first (sorted) key of ``tenant`` matching ``pattern``."""
        return self.keys(tenant, pattern)[0]

    def prefix(self, tenant: str, workspace: str = "default") -> str:
        """The fsspec path below which ``tenant``'s workspace keeps its objects."""
        url = f"{self.root}/tenants/{tenant}/workspaces/{workspace}"
        return f"{self.fs._strip_protocol(url)}/"

    def fingerprint(self, *, fresh: bool = False) -> dict[str, str]:
        """Every object and directory under the root and beside it, hashed (``fresh``: every
        object fetched again, whatever the listing says)."""
        assert drain(), "best-effort writes of this process (log hints) settle first"
        return fingerprint(self.fs, self.base, None if fresh else self._hashes)

    @contextmanager
    def untouched(self) -> Iterator[dict[str, str]]:
        """Assert that nothing under (or beside) the root changed inside the ``with`` block."""
        with self.changes_only_below() as before:
            yield before

    @contextmanager
    def changes_only_below(self, *allowed: str) -> Iterator[dict[str, str]]:
        """Assert that the block changed nothing except objects below the ``allowed`` fsspec
        path prefixes (see :meth:`prefix`); yields the fingerprint from before it."""
        before = self._baseline if self._baseline is not None else self.fingerprint()
        try:
            yield before
        finally:
            after = self._baseline = self.fingerprint()
        diff = changes(before, after)
        outside = {
            kind: [p for p in paths if not _below(p, allowed)] for kind, paths in diff.items()
        }
        assert outside == {"added": [], "removed": [], "changed": []}


def _below(path: str, prefixes: Iterable[str]) -> bool:
    return any(path.startswith(prefix) for prefix in prefixes)


def populate(ws: Workspace, tenant: str) -> None:
    """Fill ``ws``: catalog objects, a successful and a failed run, compacted and fresh events.

    Its registry ends with the tenant's successful assets (:data:`ASSETS`).
    """
    secret = SECRETS[tenant]
    ws.catalog.create_namespace("sales", description=f"sales of {secret}")
    ws.catalog.create_table(
        "sales.orders", schema=ORDERS, description=f"orders of {secret}", tags=["pii"]
    )
    registry = ws.registry
    sql_asset(
        "orders",
        f"select i as id, '{secret}' as customer, i * 10.0 as amount from range(1, 4) t(i)",
        description=f"orders of {secret}",
        registry=registry,
    )
    sql_asset(
        "regional",
        "select getvariable('partition_key') as region, count(*) as n from orders",
        partitions=StaticPartitions(["eu", "us"]),
        registry=registry,
    )

    @asset(registry=registry)
    def totals(orders: pl.DataFrame) -> pl.DataFrame:
        import polars as pl

        return orders.select(pl.col("amount").sum().alias("total"))

    assert ws.run().status == "succeeded"

    @asset(registry=registry)
    def broken(orders: pl.DataFrame) -> pl.DataFrame:
        raise ValueError(f"broken on purpose for {secret}")

    assert ws.run("broken").status == "failed"
    registry.remove("broken")
    ws.compact()
    # Events after the compaction stay in the inbox: both parts of Tier 2 hold something.
    assert ws.run("orders", force=True).status == "succeeded"
    ws.catalog.checkpoint()  # the catalog as Parquet snapshot files, as readers find them


def _s3_client(s3: S3Endpoint) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def new_bucket(s3: S3Endpoint) -> str:
    """Create a bucket of its own on the moto server; return its name."""
    bucket = f"arco-sec-{uuid.uuid4().hex[:12]}"
    _s3_client(s3).create_bucket(Bucket=bucket)
    return bucket


def _workspace(root: str, tenant: str, options: dict[str, Any], registry: Registry) -> Workspace:
    return Workspace(
        root,
        tenant=tenant,
        workspace="default",
        storage_options=options,
        sandbox=False,
        registry=registry,
    )


def build(backend: str, base: Path | None, s3: S3Endpoint | None) -> TwoTenants:
    """A root with ``acme`` and ``globex`` filled, on ``backend``."""
    import fsspec

    if backend == "local":
        assert base is not None
        fs = fsspec.filesystem("file")
        root, outside, fs_base = str(base / "lake"), str(base / "outside"), str(base)
        (base / "outside").mkdir()
        options: dict[str, Any] = {}
    elif backend == "memory":
        fs = fsspec.filesystem("memory")
        name = f"arco-sec-{uuid.uuid4().hex[:12]}"
        root, outside, fs_base = f"memory://{name}/lake", f"memory://{name}/outside", f"/{name}"
        options = {}
    else:
        assert s3 is not None
        bucket = new_bucket(s3)  # all of the bucket is ours, so all of it is fingerprinted
        options = dict(s3.storage_options)
        fs = fsspec.filesystem("s3", use_listings_cache=False, **options)
        root, outside, fs_base = f"s3://{bucket}/lake", f"s3://{bucket}/outside", bucket
    fs.pipe(f"{fs._strip_protocol(outside)}/canary.txt", b"nobody's")
    registries = {tenant: Registry() for tenant in TENANTS}
    tenants = TwoTenants(
        backend=backend,
        fs=fs,
        base=fs_base,
        root=root,
        outside=outside,
        storage_options=options,
        # Every setting explicit, whatever ARCO_* says: this session fixture is set up before
        # the autouse fixture that clears ARCO_* variables runs.
        acme=_workspace(root, "acme", options, registries["acme"]),
        globex=_workspace(root, "globex", options, registries["globex"]),
        registries=registries,
    )
    for tenant in TENANTS:
        # No grace: compacted inbox objects go at once (fewer objects to fingerprint on S3).
        filler = tenants.workspace(tenant, grace=dt.timedelta(0))
        populate(filler, tenant)
    return tenants


@pytest.fixture(scope="session", params=BACKENDS)
def two_tenants(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoTenants]:
    """``acme`` and ``globex`` on one root, per backend, shared by the security suite.

    Tests leave it as they found it, except where they say what they add (and check it).
    """
    if request.param == "s3":
        tenants = build("s3", None, request.getfixturevalue("s3_endpoint"))
    else:
        tenants = build(request.param, tmp_path_factory.mktemp("two-tenants"), None)
    yield tenants
    if tenants._baseline is not None:
        # Checks trusted the listing to say which objects changed; this one reads them all.
        assert_unchanged(tenants._baseline, tenants.fingerprint(fresh=True))
