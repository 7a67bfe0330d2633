# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Corrupt, foreign and missing objects in the commit log: clear errors, never a crash."""

from __future__ import annotations

import json

import pytest

from arco_nb import CorruptObject, ObjectStore, StorageError, TenantScope
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.log import HINT_KEY, LOG_PREFIX
from arco_nb.core.syncer import drain
from tests.catalog.conftest import ORDERS


def _key(version: int) -> str:
    return f"{LOG_PREFIX}/{version:020d}.json"


@pytest.fixture
def filled(store: ObjectStore) -> Catalog:
    cat = Catalog(store)
    cat.create_namespace("sales")
    cat.create_table("sales.orders", ORDERS)
    assert drain(), "the log's hint is written in the background: tests change it after"
    return cat


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"schema_version": 1, "version": 3, "comm', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({"schema_version": 99}).encode(), "schema_version 99"),
        (json.dumps({"schema_version": 1, "version": 3}).encode(), "missing or malformed"),
    ],
)
def test_corrupt_record_is_named_in_a_clear_error(
    filled: Catalog, store: ObjectStore, payload: bytes, reason: str
) -> None:
    store.put_if_absent(_key(3), payload)
    fresh = Catalog(store)
    with pytest.raises(CorruptObject, match=reason) as info:
        fresh.list_tables()
    assert info.value.key == _key(3)
    # Earlier versions stay readable.
    assert filled.as_of(2).list_tables() == ["sales.orders"]


def test_record_with_wrong_version_number(filled: Catalog, store: ObjectStore) -> None:
    record = json.loads(store.read(_key(2)))
    store.put_if_absent(_key(3), json.dumps(record).encode())
    with pytest.raises(CorruptObject, match="says it is version 2"):
        Catalog(store).version  # noqa: B018 - the read is the test


def test_unknown_operation_and_unknown_fields(filled: Catalog, store: ObjectStore) -> None:
    record = json.loads(store.read(_key(2)))
    record["version"] = 3
    record["future_field"] = {"ignored": True}  # unknown fields are allowed (forward compat)
    record["operations"] = [{"op": "create_namespace", "name": "hr", "colour": "blue"}]
    store.put_if_absent(_key(3), json.dumps(record).encode())
    assert filled.list_namespaces() == ["hr", "sales"]  # replayed from the record
    record["version"] = 4
    record["operations"] = [{"op": "teleport_table"}]
    store.put_if_absent(_key(4), json.dumps(record).encode())
    with pytest.raises(CorruptObject, match="unknown operation 'teleport_table'"):
        filled.list_namespaces()


def test_missing_snapshot_file(filled: Catalog, store: ObjectStore) -> None:
    checkpoint = filled.checkpoint()
    store.delete(checkpoint.snapshot["tables"])
    with pytest.warns(UserWarning, match="a checkpoint .or the log. names is missing"):
        assert Catalog(store).list_tables() == filled.list_tables()  # replayed instead


def test_snapshot_file_that_is_not_parquet(filled: Catalog, store: ObjectStore) -> None:
    checkpoint = filled.checkpoint()
    store.write(checkpoint.snapshot["columns"], b"PAR1 but not really")
    with pytest.warns(UserWarning, match="not a readable Parquet file"):
        assert Catalog(store).list_tables() == filled.list_tables()


def test_directory_where_a_record_should_be(local_root: str) -> None:
    from arco_nb import TenantScope

    store = TenantScope(local_root).store()
    cat = Catalog(store)
    cat.create_namespace("a")
    assert drain(), "the log's hint is written in the background: one reader path every time"
    store.write(f"{_key(2)}/inside", b"x")  # _log/...2.json is now a directory
    fresh = Catalog(store)
    assert fresh.version == 1  # a directory is not a record
    with pytest.raises(StorageError, match="collide") as info:
        fresh.create_namespace("b")
    assert info.value.key == _key(2)


def test_foreign_objects_in_the_log_are_skipped_with_a_warning(
    filled: Catalog, store: ObjectStore
) -> None:
    store.write(f"{LOG_PREFIX}/README.txt", b"hello")
    store.delete(HINT_KEY)
    with pytest.warns(UserWarning, match="README.txt"):
        assert Catalog(store).version == 2


@pytest.mark.parametrize(
    "hint", [b'{"latest": 1}', b'{"latest": 99}', b"not json", b'{"latest": "2"}', None]
)
def test_the_hint_is_never_trusted_alone(
    filled: Catalog, store: ObjectStore, hint: bytes | None
) -> None:
    if hint is None:
        store.delete(HINT_KEY)
    else:
        store.write(HINT_KEY, hint)
    assert Catalog(store).version == 2
    assert Catalog(store).list_tables() == ["sales.orders"]


def test_reading_the_latest_version_does_not_list_the_log(
    filled: Catalog, store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_listing(prefix: str = "") -> list[str]:
        raise AssertionError(f"listed {prefix}")

    assert drain(), "the hint is written in the background"
    monkeypatch.setattr(store, "list", no_listing)
    fresh = Catalog(store)
    assert fresh.version == 2
    filled.create_namespace("hr")
    assert fresh.list_namespaces() == ["hr", "sales"]


@pytest.fixture(params=["memory", "local", "s3"])
def any_store(request: pytest.FixtureRequest) -> ObjectStore:
    """The store fixture, and one on S3 (moto), where put-if-absent is a conditional PUT."""
    if request.param == "s3":
        store: ObjectStore = request.getfixturevalue("s3_store")
        return store
    root = request.getfixturevalue(f"{request.param}_root")
    return TenantScope(root, tenant="acme").store()


@pytest.mark.parametrize("hint", ["stale", "missing"])
def test_a_gap_in_the_log_is_refused_not_written_over(any_store: ObjectStore, hint: str) -> None:
    """Record 2 removed and the hint at 1 (or gone): a writer must not commit a new version
    2 that readers who saw 3 never see."""
    store = any_store
    catalog = Catalog(store)
    catalog.create_namespace("a")
    known_at_1 = Catalog(store)
    assert known_at_1.version == 1  # a writer that read version 1 before the damage
    catalog.create_namespace("b")
    catalog.create_namespace("c")
    assert drain(), "the hint is written in the background: let it land before the damage"
    store.delete(_key(2))
    if hint == "stale":
        store.write(HINT_KEY, json.dumps({"latest": 1}).encode())
    else:
        store.delete(HINT_KEY)
    keys = store.list()
    for reader in (Catalog(store), known_at_1):
        with pytest.raises(CorruptObject, match=r"_log/0+2\.json' is missing.*gap") as info:
            reader.create_namespace("d")
        assert info.value.missing is True
        assert "Restore it" in (info.value.hint or "")
    with pytest.raises(CorruptObject, match="is missing"):
        Catalog(store).version  # noqa: B018 - reading is what fails
    assert store.list() == keys, "nothing was written"
