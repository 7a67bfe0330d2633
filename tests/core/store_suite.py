# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The one test suite every object-store backend must pass (in the spirit of fsspec's).

A backend's test class subclasses :class:`ObjectStoreSuite` and provides two fixtures:
``root`` (a fresh, empty root URL) and ``options`` (its fsspec storage options).
"""

from __future__ import annotations

import gc
import pickle
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from arco_nb import (
    AlreadyExists,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    TenantScope,
    TenantViolation,
)

TRAVERSAL_KEYS = [
    "../escape",
    "a/../../escape",
    "..",
    "./a",
    "a/./b",
    "/etc/passwd",
    "//server/share",
    "~/x",
    "C:\\windows",
    "a\\..\\b",
    "s3://other-bucket/x",
    "file:///etc/passwd",
    "%2e%2e/escape",
    "%2E%2E%2Fescape",
    "%252e%252e/escape",
    "a/%2e%2e/%2e%2e/escape",
    "a//b",
    "a/",
    "",
    "a\x00b",
    "a\nb",
    "a/\u202eb",
    "a/*",
    "a/[ab]",
    "a/.arco-tmp-1234",
    "..::",
    "a::memory://elsewhere",
    "a/\ud800",
]


class ObjectStoreSuite:
    """Behaviour every backend shares. Subclasses provide ``root`` and ``options``."""

    @pytest.fixture
    def root(self) -> str:  # pragma: no cover - always overridden
        raise NotImplementedError

    @pytest.fixture
    def options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def scope(self, root: str, options: dict[str, Any]) -> TenantScope:
        return TenantScope(root, tenant="acme", workspace="main", storage_options=options)

    @pytest.fixture
    def store(self, scope: TenantScope) -> ObjectStore:
        return scope.store()

    # -- basic operations -------------------------------------------------------------------------
    def test_write_then_read(self, store: ObjectStore) -> None:
        store.write("a/b.json", b'{"x": 1}')
        assert store.read("a/b.json") == b'{"x": 1}'

    def test_writes_without_sync_are_still_whole(self, store: ObjectStore) -> None:
        store.write("fast/a", b"one", durable=False)
        store.put_if_absent("fast/b", b"two", durable=False)
        with pytest.raises(AlreadyExists):
            store.put_if_absent("fast/b", b"three", durable=False)
        assert (store.read("fast/a"), store.read("fast/b")) == (b"one", b"two")

    def test_write_replaces(self, store: ObjectStore) -> None:
        store.write("k", b"old")
        store.write("k", b"new")
        assert store.read("k") == b"new"

    def test_empty_and_binary_objects(self, store: ObjectStore) -> None:
        blob = bytes(range(256)) * 17
        store.write("empty", b"")
        store.write("blob.bin", blob)
        assert store.read("empty") == b""
        assert store.read("blob.bin") == blob

    def test_unicode_keys(self, store: ObjectStore) -> None:
        store.write("données/été 2024.json", b"1")
        assert store.read("données/été 2024.json") == b"1"
        assert store.list("données") == ["données/été 2024.json"]

    def test_read_missing_raises_object_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound) as info:
            store.read("nope/missing.json")
        assert info.value.key == "nope/missing.json"
        assert isinstance(info.value, FileNotFoundError)
        assert "nope/missing.json" in str(info.value)

    def test_exists(self, store: ObjectStore) -> None:
        assert not store.exists("x/y")
        store.write("x/y", b"1")
        assert store.exists("x/y")
        assert not store.exists("x"), "a key prefix is not an object"

    def test_a_second_store_on_the_same_root_sees_writes(
        self, store: ObjectStore, scope: TenantScope
    ) -> None:
        store.write("shared", b"1")
        other = ObjectStore(scope.url, storage_options=scope.storage_options)
        assert other.read("shared") == b"1"
        assert other.list() == ["shared"]

    def test_delete(self, store: ObjectStore) -> None:
        store.write("d/1", b"1")
        store.write("d/2", b"2")
        store.delete("d/1")
        assert not store.exists("d/1")
        assert store.list("d") == ["d/2"]
        store.delete("d/1")  # deleting a missing object is not an error

    def test_move(self, store: ObjectStore) -> None:
        store.write("m/a/1", b"1")
        store.write("m/old", b"old")
        store.move("m/a/1", "m/b/new/1")  # into a folder that does not exist yet
        assert store.read("m/b/new/1") == b"1"
        assert store.list("m") == ["m/b/new/1", "m/old"]
        store.write("m/a/2", b"2")
        store.move("m/a/2", "m/old")  # replaces what is there
        assert store.read("m/old") == b"2"
        with pytest.raises(ObjectNotFound):
            store.move("m/a/2", "m/c")
        assert not store.exists("m/c")

    def test_pickle_round_trip(self, store: ObjectStore) -> None:
        store.write("p", b"1")
        again = pickle.loads(pickle.dumps(store))
        assert again.url == store.url
        assert again.read("p") == b"1"

    def test_child_store_is_rooted_below(self, store: ObjectStore) -> None:
        child = store.child("events/inbox")
        child.write("e1.json", b"{}")
        assert store.list() == ["events/inbox/e1.json"]
        with pytest.raises(TenantViolation):
            store.child("../other")

    # -- listing ----------------------------------------------------------------------------------
    def test_list_is_recursive_sorted_and_prefix_scoped(self, store: ObjectStore) -> None:
        for key in ["b/2", "a/1", "a/sub/3", "ab/4", "c"]:
            store.write(key, b"x")
        assert store.list() == ["a/1", "a/sub/3", "ab/4", "b/2", "c"]
        assert store.list("a") == ["a/1", "a/sub/3"]
        assert store.list("a/") == ["a/1", "a/sub/3"]
        assert store.list("a/sub") == ["a/sub/3"]
        assert store.list("missing") == []
        assert store.list("c") == [], "an object is not a prefix of itself"

    def test_list_many(self, store: ObjectStore) -> None:
        keys = [f"log/{i:020d}.json" for i in range(120)]
        for key in reversed(keys):
            store.write(key, b"{}")
        assert store.list("log") == keys

    # -- exclusive create -------------------------------------------------------------------------
    def test_put_if_absent_creates_once(self, store: ObjectStore) -> None:
        store.put_if_absent("_log/1.json", b"first")
        with pytest.raises(AlreadyExists) as info:
            store.put_if_absent("_log/1.json", b"second")
        assert info.value.key == "_log/1.json"
        assert isinstance(info.value, FileExistsError)
        assert store.read("_log/1.json") == b"first"

    def test_put_if_absent_after_write_refuses(self, store: ObjectStore) -> None:
        store.write("w", b"written")
        with pytest.raises(AlreadyExists):
            store.put_if_absent("w", b"created")
        assert store.read("w") == b"written"

    @pytest.mark.parametrize("round_", range(3))
    def test_sixteen_threads_race_for_one_key_and_exactly_one_wins(
        self, store: ObjectStore, round_: int
    ) -> None:
        key = f"_log/{round_:020d}.json"
        barrier = threading.Barrier(16)
        outcomes: dict[int, str] = {}

        def contender(i: int) -> None:
            payload = f"writer-{i}".encode()
            barrier.wait()
            try:
                store.put_if_absent(key, payload)
                outcomes[i] = "won"
            except AlreadyExists:
                outcomes[i] = "lost"
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                outcomes[i] = f"error: {exc!r}"

        threads = [threading.Thread(target=contender, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        counts = Counter(outcomes.values())
        assert counts == {"won": 1, "lost": 15}, outcomes
        (winner,) = [i for i, outcome in outcomes.items() if outcome == "won"]
        assert store.read(key) == f"writer-{winner}".encode()

    # -- atomic visibility ------------------------------------------------------------------------
    def test_readers_never_see_a_partial_object(self, store: ObjectStore) -> None:
        size = 1 << 20
        versions = [bytes([v]) * size for v in range(1, 9)]
        store.write("big", versions[0])
        stop = threading.Event()
        bad: list[str] = []
        reads = Counter[str]()

        def reader() -> None:
            while not stop.is_set():
                data = store.read("big")
                reads["n"] += 1
                if len(data) != size or data.count(data[:1]) != size:
                    bad.append(f"len={len(data)} first={data[:1]!r}")

        readers = [threading.Thread(target=reader) for _ in range(2)]
        for t in readers:
            t.start()
        try:
            for payload in versions[1:]:
                store.write("big", payload)
        finally:
            stop.set()
            for t in readers:
                t.join(timeout=60)
        assert not bad
        assert reads["n"] > 0
        assert store.read("big") == versions[-1]

    def test_put_if_absent_is_all_or_nothing_for_readers(self, store: ObjectStore) -> None:
        size = 1 << 20
        stop = threading.Event()
        seen: list[int] = []

        def reader() -> None:
            while not stop.is_set():
                try:
                    seen.append(len(store.read("fresh")))
                except ObjectNotFound:
                    seen.append(-1)

        t = threading.Thread(target=reader)
        t.start()
        try:
            store.put_if_absent("fresh", b"z" * size)
            deadline = time.monotonic() + 30
            while (not seen or seen[-1] == -1) and time.monotonic() < deadline:
                time.sleep(0.001)
        finally:
            stop.set()
            t.join(timeout=60)
        assert set(seen) <= {-1, size}
        assert seen[-1] == size

    # -- streaming --------------------------------------------------------------------------------
    def test_open_reads_a_stream(self, store: ObjectStore) -> None:
        store.write("s", b"0123456789")
        with store.open("s") as f:
            assert f.read(4) == b"0123"
            assert f.read() == b"456789"

    def test_open_missing_raises(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound):
            store.open("absent")

    def test_open_for_write_publishes_on_close(self, store: ObjectStore) -> None:
        f = store.open("stream/out.bin", "wb")
        f.write(b"part1-")
        assert not store.exists("stream/out.bin"), "nothing is visible before close"
        assert store.list("stream") == []
        f.write(b"part2")
        assert f.tell() == 11
        f.close()
        assert store.read("stream/out.bin") == b"part1-part2"

    def test_open_for_write_discards_on_error(self, store: ObjectStore) -> None:
        def fail_midway(key: str) -> None:
            with store.open(key, "wb") as f:
                f.write(b"half")
                raise RuntimeError("boom")

        store.write("keep", b"old")
        with pytest.raises(RuntimeError, match="boom"):
            fail_midway("keep")
        assert store.read("keep") == b"old"
        with pytest.raises(RuntimeError, match="boom"):
            fail_midway("never")
        assert not store.exists("never")
        assert sorted(store.list()) == ["keep"]

    def test_open_exclusive(self, store: ObjectStore) -> None:
        with store.open("x", "xb") as f:
            f.write(b"one")
        assert store.read("x") == b"one"
        with pytest.raises(AlreadyExists), store.open("x", "xb") as f:
            f.write(b"two")
        assert store.read("x") == b"one"

    def test_unclosed_writer_publishes_nothing(self, store: ObjectStore) -> None:
        f = store.open("forgotten", "wb")
        f.write(b"half")
        del f
        gc.collect()
        assert not store.exists("forgotten")

    def test_failed_write_publishes_nothing(self, store: ObjectStore) -> None:
        f = store.open("typed", "wb")
        f.write(b"ok")
        with pytest.raises(TypeError):
            f.write("not bytes")  # type: ignore[arg-type]
        f.close()
        assert not store.exists("typed")

    def test_data_must_be_bytes_like(self, store: ObjectStore) -> None:
        store.write("b", bytearray(b"ba"))
        store.put_if_absent("m", memoryview(b"mv"))
        assert (store.read("b"), store.read("m")) == (b"ba", b"mv")
        with pytest.raises(TypeError, match="bytes-like"):
            store.write("i", 5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="bytes-like"):
            store.put_if_absent("n", None)  # type: ignore[arg-type]
        assert store.list() == ["b", "m"]

    def test_object_and_prefix_of_the_same_name(self, store: ObjectStore) -> None:
        store.write("a/b", b"1")
        assert store.list("a") == ["a/b"]
        assert store.list("/") == ["a/b"], "'/' means the whole store"

    def test_writing_below_an_object_is_a_collision_not_already_exists(
        self, store: ObjectStore
    ) -> None:
        store.write("c", b"object")
        if store.protocol == "s3":  # flat keys: "c" and "c/d" are unrelated objects
            store.write("c/d", b"x")
            store.put_if_absent("c/e", b"x")
            assert store.list() == ["c", "c/d", "c/e"]
            return
        for call in (lambda: store.write("c/d", b"x"), lambda: store.put_if_absent("c/e", b"x")):
            with pytest.raises(StorageError) as info:
                call()
            assert not isinstance(info.value, AlreadyExists)
        assert store.list() == ["c"]

    def test_abort_discards(self, store: ObjectStore) -> None:
        f = store.open("aborted", "wb")
        f.write(b"data")
        f.abort()  # type: ignore[attr-defined]
        assert not store.exists("aborted")

    # -- tenancy ----------------------------------------------------------------------------------
    @pytest.mark.parametrize("bad", TRAVERSAL_KEYS)
    def test_every_method_refuses_traversal(self, store: ObjectStore, bad: str) -> None:
        calls = [
            lambda: store.read(bad),
            lambda: store.write(bad, b"x"),
            lambda: store.put_if_absent(bad, b"x"),
            lambda: store.exists(bad),
            lambda: store.delete(bad),
            lambda: store.open(bad),
            lambda: store.open(bad, "wb"),
            lambda: store.path(bad),
            lambda: store.child(bad),
        ]
        if bad not in {"", "a/"}:  # list("") is the whole store; list("a/") means "a"
            calls.append(lambda: store.list(bad))
        for call in calls:
            with pytest.raises(TenantViolation) as info:
                call()
            assert info.value.key == bad

    def test_nothing_is_written_outside_the_prefix(
        self, root: str, options: dict[str, Any], scope: TenantScope, store: ObjectStore
    ) -> None:
        everything = ObjectStore(root, storage_options=options)
        sentinel = f"tenants/other/workspaces/main/secret-{uuid.uuid4().hex}"
        everything.write(sentinel, b"other tenant's data")
        for bad in TRAVERSAL_KEYS:
            with pytest.raises(TenantViolation):
                store.write(bad, b"pwned")
            with pytest.raises(TenantViolation):
                store.put_if_absent(bad, b"pwned")
            with pytest.raises(TenantViolation):
                store.delete(bad)
        store.write("mine", b"ok")
        keys = everything.list()
        assert keys == sorted([f"{scope.prefix}/mine", sentinel])
        assert everything.read(sentinel) == b"other tenant's data"

    def test_tenants_do_not_see_each_other(self, root: str, options: dict[str, Any]) -> None:
        acme = TenantScope(root, tenant="acme", storage_options=options).store()
        globex = TenantScope(root, tenant="globex", storage_options=options).store()
        acme.write("catalog/_log/00000000000000000001.json", b"acme")
        globex.write("catalog/_log/00000000000000000001.json", b"globex")
        assert acme.read("catalog/_log/00000000000000000001.json") == b"acme"
        assert globex.list() == ["catalog/_log/00000000000000000001.json"]
        assert globex.read("catalog/_log/00000000000000000001.json") == b"globex"
