# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Python API attacked by one tenant with hostile names, keys and forged metadata.

The hostile strings of ``tests/core`` (traversal, absolute paths, URLs, percent-encoding,
control and format characters, globs, fsspec URL chains) go, as ``acme``, into every place the
API takes a name: tenant and workspace ids, asset names (definitions, ``read``, ``lineage``,
``explain``, ``plan``, ``run``, ``partition_status``), namespace, table and column names,
partition keys and definitions, object-store keys, and the run ids and filters metadata SQL is
built from. Each must be refused with an ``ArcoError`` subclass (which one, per method, is what
the method really does) in one line, and leave every byte under the root as it was.

Then acme forges what its own prefix holds (it may write there): asset definitions that skip
the name check, a commit record and a compaction manifest naming globex's files, and
materialization events pointing at globex's data. Reading or running on them must refuse, and
globex's files stay byte-identical. First of all, the fingerprint is shown to notice a change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from arco_nb import (
    ArcoError,
    AssetDefinitionError,
    AssetNotFound,
    CatalogError,
    ConfigError,
    DailyPartitions,
    InvalidName,
    MonthlyPartitions,
    NamespaceNotFound,
    SelectionError,
    StaticPartitions,
    TableNotFound,
    TenantViolation,
    Workspace,
)
from arco_nb.catalog.events import Event
from arco_nb.catalog.model import Column
from arco_nb.core.keys import check_key
from arco_nb.flow.assets import Registry, asset, sql_asset
from tests.core.store_suite import TRAVERSAL_KEYS
from tests.security.conftest import (
    ASSETS,
    SECRETS,
    TwoTenants,
    assert_unchanged,
    changes,
    fingerprint,
    new_bucket,
)

HOSTILE = tuple(TRAVERSAL_KEYS)
ERRORS = tuple[type[ArcoError], ...]
# On S3 each call costs requests to moto (~15 ms each); the refusals below happen before any
# backend-specific code, so S3 gets one string of each kind and local and memory roots all.
S3_SAMPLE = ("../escape", "/etc/passwd", "s3://other-bucket/x", "%252e%252e/escape", "",
             "a\x00b", "a/*", "a::memory://elsewhere", "a/\ud800")  # fmt: skip
# Where each string costs a whole run (or a commit), S3 gets the traversals only.
S3_TRAVERSALS = ("../escape", "a/%2e%2e/%2e%2e/escape", "s3://other-bucket/x", "a/*")


@pytest.fixture
def hostile(two_tenants: TwoTenants) -> tuple[str, ...]:
    """The hostile strings of tests/core (a sample of each kind on S3)."""
    assert set(S3_SAMPLE) <= set(HOSTILE)
    return S3_SAMPLE if two_tenants.backend == "s3" else HOSTILE


@pytest.fixture
def traversals(two_tenants: TwoTenants) -> tuple[str, ...]:
    """The hostile strings for surfaces that run or commit for each (fewer on S3)."""
    assert set(S3_TRAVERSALS) <= set(HOSTILE)
    return S3_TRAVERSALS if two_tenants.backend == "s3" else HOSTILE


def refusals(
    call: Callable[[str], object], expected: ERRORS, hostile: tuple[str, ...]
) -> dict[str, str]:
    """``call(h)`` for each hostile string; what was not refused with ``expected``, one line."""
    wrong = {}
    for value in hostile:
        try:
            result = call(value)
        except expected as exc:
            if "\n" in str(exc):
                wrong[repr(value)] = f"a message of several lines: {exc!s}"
        except Exception as exc:
            wrong[repr(value)] = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        else:
            wrong[repr(value)] = f"accepted, returned {result!r:.200}"
    return wrong


# -- the fingerprint notices changes -----------------------------------------------------------
def test_the_fingerprint_notices_every_kind_of_change(
    two_tenants: TwoTenants, request: pytest.FixtureRequest
) -> None:
    """A throwaway copy of globex's prefix, changed by one byte, one object more, one less."""
    t = two_tenants
    if t.backend == "s3":
        copy_base = new_bucket(request.getfixturevalue("s3_endpoint"))
    else:
        copy_base = f"{t.base}-throwaway"
    for part in ("catalog", "events/inbox"):  # enough to change, add and remove objects
        source = f"{t.prefix('globex')}{part}"
        t.fs.cp(source, f"{copy_base}/globex/{part}", recursive=True)
    cache: dict[tuple[str, ...], str] = {}
    before = fingerprint(t.fs, copy_base, cache)
    assert len([p for p in before if not p.endswith("/")]) >= 10
    victim = next(p for p in sorted(before) if p.endswith("assets.parquet"))
    data = bytearray(t.fs.cat(victim))
    data[len(data) // 2] ^= 1
    t.fs.pipe(victim, bytes(data))
    gone = next(p for p in sorted(before) if "/events/inbox/" in p and not p.endswith("/"))
    t.fs.rm(gone)
    t.fs.pipe(f"{copy_base}/globex/catalog/new.parquet", b"x")
    if t.backend != "s3":  # S3 has no directories, only keys
        t.fs.makedirs(f"{copy_base}/globex/empty")
    after = fingerprint(t.fs, copy_base, cache)  # the cache must not hide the changed byte
    diff = changes(before, after)
    assert diff["changed"] == [victim]
    assert gone in diff["removed"]
    assert f"{copy_base}/globex/catalog/new.parquet" in diff["added"]
    assert t.backend == "s3" or f"{copy_base}/globex/empty/" in diff["added"]
    with pytest.raises(AssertionError):
        assert_unchanged(before, after)
    assert fingerprint(t.fs, copy_base) == after, "cached and fresh hashes agree"
    t.fs.rm(copy_base, recursive=True)


# -- hostile names in every argument ------------------------------------------------------------
def test_hostile_tenant_and_workspace_ids(
    two_tenants: TwoTenants, hostile: tuple[str, ...]
) -> None:
    t = two_tenants

    def tenant(value: str) -> object:
        return t.workspace(value).store.list()

    def workspace(value: str) -> object:
        return t.workspace("acme", workspace=value).store.list()

    with t.untouched():
        assert refusals(tenant, (TenantViolation,), hostile) == {}
        assert refusals(workspace, (TenantViolation,), hostile) == {}


def test_hostile_asset_names(two_tenants: TwoTenants, hostile: tuple[str, ...]) -> None:
    t = two_tenants

    def python_asset(name: str) -> object:
        return asset(name=name, registry=Registry())(_own_name)

    calls: dict[str, tuple[Callable[[str], object], ERRORS]] = {
        "sql_asset": (
            lambda n: sql_asset(n, "select 1", registry=Registry()),
            (AssetDefinitionError,),
        ),
        "read": (t.acme.read, (AssetNotFound,)),
        "load_asset": (t.acme.catalog.load_asset, (InvalidName,)),
        "drop_asset": (t.acme.catalog.drop_asset, (AssetNotFound,)),
    }
    with t.untouched():
        for name, (call, expected) in calls.items():
            assert refusals(call, expected, hostile) == {}, name
        # @asset(name="") takes the function's name, as name=None does (shown below).
        named = tuple(h for h in hostile if h)
        assert refusals(python_asset, (AssetDefinitionError,), named) == {}
        # Valid names that are not there are no way in either.
        assert refusals(t.acme.read, (AssetNotFound,), ("globex", "data")) == {}


def test_hostile_selections(two_tenants: TwoTenants, hostile: tuple[str, ...]) -> None:
    """Asset names where the API takes a selection (``""`` too: "every asset" is ``*``)."""
    t = two_tenants
    calls: dict[str, Callable[[str], object]] = {
        "lineage": t.acme.lineage,
        "explain": t.acme.explain,
        "plan": t.acme.plan,
        "run": t.acme.run,
        "partition_status": t.acme.partition_status,
    }
    with t.untouched():
        for name, call in calls.items():
            assert refusals(call, (SelectionError, AssetNotFound), hostile) == {}, name


def test_hostile_catalog_names(two_tenants: TwoTenants, hostile: tuple[str, ...]) -> None:
    t = two_tenants
    catalog = t.acme.catalog
    schema = pa.schema([("x", pa.int64())])
    calls: dict[str, tuple[Callable[[str], object], ERRORS]] = {
        "create_namespace": (catalog.create_namespace, (InvalidName,)),
        "create_table ns": (lambda n: catalog.create_table(f"{n}.t", schema), (InvalidName,)),
        "create_table": (lambda n: catalog.create_table(f"sales.{n}", schema), (InvalidName,)),
        "create_table id": (lambda n: catalog.create_table(n, schema), (InvalidName,)),
        "column": (
            lambda n: catalog.create_table("sales.c", [Column(n, "int64")]),
            (InvalidName,),
        ),
        # Lookups compare with what exists (not-found errors); no key is made of the argument.
        "load_table": (catalog.load_table, (TableNotFound,)),
        "load_table t": (lambda n: catalog.load_table(f"sales.{n}"), (TableNotFound,)),
        "drop_table": (catalog.drop_table, (TableNotFound,)),
        "drop_table t": (lambda n: catalog.drop_table(f"sales.{n}"), (TableNotFound,)),
        "alter_table": (lambda n: catalog.alter_table(n, description="x"), (TableNotFound,)),
        "drop_namespace": (catalog.drop_namespace, (NamespaceNotFound,)),
        "list_tables": (catalog.list_tables, (NamespaceNotFound,)),
        "as_of": (catalog.as_of, (CatalogError,)),  # type: ignore[dict-item]
    }
    version = catalog.version
    with t.untouched():
        for name, (call, expected) in calls.items():
            assert refusals(call, expected, hostile) == {}, name
    assert t.workspace("acme").catalog.version == version


def test_hostile_partition_keys(two_tenants: TwoTenants, hostile: tuple[str, ...]) -> None:
    t = two_tenants
    keys = tuple(h for h in hostile if h)  # "" is the one key of an unpartitioned asset

    def spec(key: str) -> object:
        return sql_asset("p", "select 1", partitions=f"static:eu,{key}", registry=Registry())

    calls: dict[str, tuple[Callable[[str], object], tuple[str, ...]]] = {
        "run": (lambda k: t.acme.run("regional", partitions=k), hostile),
        "plan": (lambda k: t.acme.plan("regional", partitions=k), hostile),
        "explain": (lambda k: t.acme.explain("regional", partitions=k), hostile),
        "partition_status": (
            lambda k: t.acme.partition_status("regional", partitions=k),
            hostile,
        ),
        "read partitioned": (lambda k: t.acme.read("regional", k), hostile),
        "read unpartitioned": (lambda k: t.acme.read("orders", k), keys),
        "StaticPartitions": (lambda k: StaticPartitions(["eu", k]), hostile),
        "DailyPartitions": (DailyPartitions, hostile),
        "MonthlyPartitions": (MonthlyPartitions, hostile),
    }
    with t.untouched():
        for name, (call, values) in calls.items():
            assert refusals(call, (ConfigError,), values) == {}, name
        assert refusals(spec, (AssetDefinitionError,), keys) == {}


def test_hostile_store_keys(two_tenants: TwoTenants, hostile: tuple[str, ...]) -> None:
    t = two_tenants
    store = t.acme.store

    def write_through(mode: Any) -> Callable[[str], object]:
        def call(key: str) -> object:
            with store.open(key, mode) as f:
                return f.write(b"acme was here")

        return call

    calls: dict[str, Callable[[str], object]] = {
        "read": store.read,
        "write": lambda k: store.write(k, b"acme was here"),
        "put_if_absent": lambda k: store.put_if_absent(k, b"acme was here"),
        "exists": store.exists,
        "delete": store.delete,
        "open rb": lambda k: store.open(k).read(),
        "open wb": write_through("wb"),
        "open xb": write_through("xb"),
        "child": lambda k: store.child(k).list(),
        "path": store.path,
    }
    with t.untouched():
        for name, call in calls.items():
            assert refusals(call, (TenantViolation,), hostile) == {}, name
        # list("") is the whole store and list("a/") is list("a"): shown below.
        listable = tuple(h for h in hostile if h not in {"", "a/"})
        assert refusals(store.list, (TenantViolation,), listable) == {}


def test_where_a_refused_string_is_accepted_it_means_something_harmless(
    two_tenants: TwoTenants,
) -> None:
    """The places a hostile string is accepted, and why that reaches nothing of anyone else."""
    t = two_tenants
    with t.untouched():
        own = t.acme.store.list("")
        assert own
        assert all(t.acme.store.exists(k) for k in own)  # relative keys, of acme's only
        assert t.acme.store.list("a/") == t.acme.store.list("a") == []
        # An unpartitioned asset's only partition key is "".
        table = t.acme.read("orders", "")
        assert set(table.column("customer").to_pylist()) == {SECRETS["acme"]}
        # An empty name in @asset is the function's name, as name=None is.
        defined = asset(name="", registry=Registry())(_own_name)
        assert defined.__arco_asset__.name == "_own_name"  # type: ignore[attr-defined]
        assert {task.asset for task in t.acme.plan("*").tasks} == set(ASSETS)


def _own_name() -> pa.Table:
    return pa.table({"x": [1]})


def test_run_ids_and_filters_are_literals_not_sql(two_tenants: TwoTenants) -> None:
    """``runs``, ``tasks`` build metadata SQL from their arguments: quotes, comments and the
    hostile strings find nothing (or a one-line error), and the SQL sandbox is behind them."""
    t = two_tenants
    injections: tuple[str, ...] = (
        "' or 1=1 --",
        "x') union select * from read_text('/etc/passwd') --",
        "x'; copy (select 1) to 'pwned.csv'; --",
        "a\x00b",
        "a/\ud800",
    )
    if t.backend != "s3":  # each value costs a few queries (~70 ms each on moto)
        injections += S3_SAMPLE

    def nothing(call: Callable[[str], object]) -> Callable[[str], object]:
        def check(value: str) -> object:
            result = call(value)
            if result != []:
                return result
            raise CatalogError("found nothing")  # the expected outcome, as an error to count

        return check

    with t.untouched():
        assert refusals(nothing(lambda v: t.acme.runs(asset=v)), (ArcoError,), injections) == {}
        assert refusals(nothing(lambda v: t.acme.runs(status=v)), (ArcoError,), injections) == {}
        assert refusals(t.acme.tasks, (ArcoError,), injections) == {}


# -- forged definitions and metadata in acme's own prefix ---------------------------------------
def test_definitions_that_skip_the_name_check_write_nothing_outside_acme(
    two_tenants: TwoTenants, traversals: tuple[str, ...]
) -> None:
    t = two_tenants
    template = sql_asset("anything", "select 1 as x", registry=Registry())
    outcomes = {}
    # Left out: "a/\ud800", which ws.run cannot plan: UnicodeEncodeError from canonical_json
    # (not an ArcoError; reported). It never reaches the store.
    names = [n for n in traversals if n != "a/\ud800"]
    with t.changes_only_below(t.prefix("acme", "forged")):
        for name in names:
            forged = t.workspace(
                "acme",
                workspace="forged",
                registry=Registry([dataclasses.replace(template, name=name)]),
            )
            try:
                result = forged.run()
            except ArcoError as exc:
                outcomes[name] = type(exc).__name__
                continue
            (task,) = result.state.tasks.values()
            outcomes[name] = "succeeded" if task.status == "succeeded" else task.error.split(":")[0]
    # Nothing checks these names before the run (only sql_asset and @asset do), so the store
    # is what stops them: each data key it refuses is a task failing with TenantViolation.
    # The one it accepts, "~/x", is written inside acme's prefix; then the catalog refuses it.
    for name, outcome in outcomes.items():
        try:
            check_key(f"data/{name}/_/x.parquet")
        except TenantViolation:
            assert outcome == "arco_nb.TenantViolation", (name, outcome)
        else:
            assert outcome == "InvalidName", (name, outcome)


def _forge(forged: Workspace, key: str, record: dict[str, Any]) -> None:
    forged.store.write(key, json.dumps(record).encode())


def _reads_of_version_2(
    t: TwoTenants, replaying: Workspace, fresh: Workspace
) -> dict[str, Callable[[], object]]:
    return {
        "sql, replaying": lambda: replaying.sql("select * from arco.assets").fetchall(),
        "sql": lambda: fresh.sql("select * from arco.namespaces").fetchall(),
        "state": lambda: fresh.catalog.state,
        "as_of": lambda: t.workspace("acme", workspace="forged-log").catalog.as_of(2),
    }


def test_a_forged_commit_record_reaches_no_other_tenant(two_tenants: TwoTenants) -> None:
    """acme writes a (version-1) commit record in its own log whose snapshot names globex's
    files."""
    t = two_tenants
    theirs = t.globex.catalog.checkpoint()
    writer = t.workspace("acme", workspace="forged-log")
    writer.catalog.create_namespace("sales")
    record = json.loads(writer.store.read("catalog/_log/00000000000000000001.json"))
    record["version"] = 2
    record["schema_version"] = 1  # the records of earlier releases name snapshot files
    record["operations"][0]["name"] = "other"  # an operation that applies
    up = "../../../../globex/workspaces/default/"
    prefixes = (up, "/", up.replace("..", "%2e%2e"), "x/" + up)
    for prefix in prefixes[:2] if t.backend == "s3" else prefixes:
        record["snapshot"] = {name: prefix + key for name, key in theirs.snapshot.items()}
        replaying = t.workspace("acme", workspace="forged-log")
        assert replaying.catalog.version == 1  # it will replay version 2 from the record
        with t.changes_only_below(t.prefix("acme", "forged-log")):
            _forge(writer, "catalog/_log/00000000000000000002.json", record)
            fresh = t.workspace("acme", workspace="forged-log")  # loads version 2's snapshot
            for name, read in _reads_of_version_2(t, replaying, fresh).items():
                with pytest.raises(TenantViolation) as info:
                    read()
                assert SECRETS["globex"] not in str(info.value), name
                assert "\n" not in str(info.value), name
            writer.store.delete("catalog/_log/00000000000000000002.json")


def test_a_forged_checkpoint_reaches_no_other_tenant(two_tenants: TwoTenants) -> None:
    """acme writes a checkpoint in its own catalog whose snapshot names globex's files."""
    t = two_tenants
    theirs = t.globex.catalog.checkpoint()
    writer = t.workspace("acme", workspace="forged-checkpoint")
    writer.catalog.create_namespace("sales")
    writer.catalog.create_namespace("hr")
    checkpoint = writer.catalog.checkpoints.key(2)
    up = "../../../../globex/workspaces/default/"
    prefixes = (up, "/", up.replace("..", "%2e%2e"), "x/" + up)
    for prefix in prefixes[:2] if t.backend == "s3" else prefixes:
        forged = {**theirs.to_json(), "version": 2}
        forged["snapshot"] = {name: prefix + key for name, key in theirs.snapshot.items()}
        forged["definitions"] = prefix + theirs.definitions
        with t.changes_only_below(t.prefix("acme", "forged-checkpoint")):
            _forge(writer, checkpoint, forged)
            _forge(writer, "catalog/_last_checkpoint.json", {"latest": 2})
            reads = {
                "state": lambda: t.workspace("acme", workspace="forged-checkpoint").catalog.state,
                "sql": lambda: (
                    t.workspace("acme", workspace="forged-checkpoint")
                    .sql("select * from arco.namespaces")
                    .fetchall()
                ),
            }
            for name, read in reads.items():
                with pytest.raises(TenantViolation) as info:
                    read()
                assert SECRETS["globex"] not in str(info.value), name
                assert "\n" not in str(info.value), name
            writer.store.delete(checkpoint)


def test_forged_events_and_manifests_reach_no_other_tenant(
    two_tenants: TwoTenants, traversals: tuple[str, ...]
) -> None:
    t = two_tenants
    forged = t.workspace("acme", workspace="forged-events")
    with t.changes_only_below(t.prefix("acme", "forged-events")):
        assert forged.run("orders").status == "succeeded"
        theirs = t.key("globex", "data/orders/_/*.parquet").split("/")[-1].removesuffix(".parquet")
        ids = (
            *traversals,
            f"../../../../../globex/workspaces/default/data/orders/_/{theirs}",
            f"x/../../../../../../globex/workspaces/default/data/orders/_/{theirs}",
        )
        at = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        for i, mid in enumerate(ids):  # each the newest materialization of "orders"
            try:
                event = Event.create(
                    "materialization", run_id="forged", asset="orders",
                    at=at + dt.timedelta(seconds=i), materialization_id=mid, rows=3, bytes=1,
                    schema_hash="x", path="x",
                )  # fmt: skip
            except ArcoError:
                assert mid == "a/\ud800"  # no JSON form: refused as it is made
                continue
            forged.events.append(event)
            with pytest.raises(ArcoError) as info:
                forged.read("orders")
            assert SECRETS["globex"] not in str(info.value)
            assert "\n" not in str(info.value)
        # Downstream, a run reads the forged input: the task fails, nothing is read.
        result = forged.run("totals", force=True)
        (task,) = result.state.tasks.values()
        assert task.status == "failed"
        assert SECRETS["globex"] not in task.error
        # A manifest whose parts are globex's compacted files.
        seq = forged.compact().seq + 1
        manifest = json.loads(forged.store.read(f"events/compacted/_manifests/{seq - 1:020d}.json"))
        part = t.key("globex", "events/compacted/materializations/*")
        manifest["seq"] = seq
        manifest["parts"] = {"materializations": [f"../../../../globex/workspaces/default/{part}"]}
        _forge(forged, f"events/compacted/_manifests/{seq:020d}.json", manifest)
        reader = t.workspace("acme", workspace="forged-events")
        for read in (
            lambda: reader.sql("select * from arco.materializations").fetchall(),
            lambda: reader.read("orders"),
        ):
            with pytest.raises(TenantViolation) as info:
                read()
            assert SECRETS["globex"] not in str(info.value)
