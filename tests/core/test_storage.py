# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The store suite on each backend, plus what only one backend can show."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from arco_nb import (
    AlreadyExists,
    ConfigError,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    TenantViolation,
)
from arco_nb.core.keys import TEMP_MARK
from arco_nb.core.storage import _translate
from tests.conftest import S3Endpoint, in_fresh_interpreter
from tests.core.store_suite import ObjectStoreSuite


class TestMemoryStore(ObjectStoreSuite):
    @pytest.fixture
    def root(self, memory_root: str) -> str:
        return memory_root


class TestLocalStore(ObjectStoreSuite):
    @pytest.fixture
    def root(self, local_root: str) -> str:
        return local_root


@pytest.mark.s3
class TestS3Store(ObjectStoreSuite):
    @pytest.fixture
    def root(self, s3_root: str) -> str:
        return s3_root

    @pytest.fixture
    def options(self, s3_endpoint: S3Endpoint) -> dict[str, Any]:
        return dict(s3_endpoint.storage_options)


# -- local disk ---------------------------------------------------------------------------------
def _race(root: str, key: str, barrier: Any, i: int, results: Any) -> None:
    store = ObjectStore(root)
    barrier.wait()
    try:
        store.put_if_absent(key, f"process-{i}".encode())
        results.put((i, "won"))
    except AlreadyExists:
        results.put((i, "lost"))


def test_local_processes_race_and_exactly_one_wins(local_root: str) -> None:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(local_root, "_log/1.json", barrier, i, results))
        for i in range(6)
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert sorted(outcomes.values()) == ["lost"] * 5 + ["won"]
    winner = next(i for i, o in outcomes.items() if o == "won")
    assert ObjectStore(local_root).read("_log/1.json") == f"process-{winner}".encode()


def test_local_leftover_temp_files_are_invisible(local_root: str) -> None:
    store = ObjectStore(local_root)
    store.write("events/e1.json", b"{}")
    # What a writer killed between write and rename leaves behind.
    Path(local_root, "events", f"{TEMP_MARK}deadbeef").write_bytes(b"{partial")
    assert store.list() == ["events/e1.json"]
    assert store.list("events") == ["events/e1.json"]


def test_local_writes_leave_no_temp_files(local_root: str) -> None:
    store = ObjectStore(local_root)
    store.write("a", b"1")
    store.put_if_absent("b", b"2")
    with pytest.raises(AlreadyExists):
        store.put_if_absent("b", b"3")
    with store.open("c", "wb") as f:
        f.write(b"3")
    assert sorted(os.listdir(local_root)) == ["a", "b", "c"]


def test_local_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        ObjectStore(str(target))


def test_local_directory_where_an_object_belongs(local_root: str) -> None:
    store = ObjectStore(local_root)
    store.write("dir/inner", b"1")
    with pytest.raises(StorageError) as info:
        store.read("dir")
    assert info.value.key == "dir"
    with pytest.raises(StorageError, match="collide"):
        store.write("dir", b"x")
    with pytest.raises(StorageError, match="collide"):
        store.write("dir/inner/deeper", b"x")


def test_local_permission_denied_is_a_storage_error(local_root: str) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    store = ObjectStore(local_root)  # pragma: no cover - runs for non-root developers
    store.write("locked/a", b"1")
    os.chmod(Path(local_root, "locked"), 0o500)
    try:
        with pytest.raises(StorageError, match="Permission denied"):
            store.write("locked/b", b"2")
    finally:
        os.chmod(Path(local_root, "locked"), 0o700)


def test_failed_local_write_leaves_no_temp_file(
    local_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore(local_root)
    store.write("a", b"1")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageError, match="No space left"):
        store.write("b", b"2")
    with pytest.raises(StorageError, match="No space left"):
        store.put_if_absent("c", b"3")
    monkeypatch.undo()
    assert sorted(os.listdir(local_root)) == ["a"]


def test_local_put_if_absent_on_a_directory_is_a_collision(local_root: str) -> None:
    store = ObjectStore(local_root)
    store.write("d/inner", b"1")
    with pytest.raises(StorageError, match="collide") as info:
        store.put_if_absent("d", b"x")
    assert not isinstance(info.value, AlreadyExists)


def test_foreign_files_are_not_listed(local_root: str) -> None:
    store = ObjectStore(local_root)
    store.write("ok", b"1")
    Path(local_root, "we*ird").write_bytes(b"x")
    Path(local_root, "~home").write_bytes(b"x")
    assert store.list() == ["ok"]


def test_child_cannot_leave_its_parent(local_root: str) -> None:
    parent = ObjectStore(local_root)
    parent.write("victim/secret", b"s")
    attacker = parent.child("attacker")
    for bad in ["..::", "..::x", "1::gcs", "a/../..", "%2e%2e"]:
        with pytest.raises(TenantViolation):
            attacker.child(bad)
    inner = attacker.child("x")
    inner.write("k", b"v")
    assert parent.list() == ["attacker/x/k", "victim/secret"]
    assert pickle.loads(pickle.dumps(inner)).read("k") == b"v"


@pytest.mark.parametrize(
    ("root", "where"),
    [("memory://", "memory"), ("memory:///", "memory"), ("file:///tmp", "file")],
)
def test_bare_roots_keep_their_protocol(root: str, where: str) -> None:
    assert ObjectStore(root).protocol == where


@pytest.mark.parametrize("root", ["", "   "])
def test_empty_root_is_refused(root: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        ObjectStore(root)


def test_file_url_and_plain_path_are_the_same_store(local_root: str) -> None:
    ObjectStore(local_root).write("k", b"v")
    assert ObjectStore(f"file://{local_root}").read("k") == b"v"


# -- configuration ------------------------------------------------------------------------------
def test_unsupported_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Supported protocols"):
        ObjectStore("ftp://example.invalid/x")


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Cannot open"):
        ObjectStore("nosuchproto://x")


def test_bad_open_mode(memory_root: str) -> None:
    with pytest.raises(ConfigError, match="Unsupported mode"):
        ObjectStore(memory_root).open("k", "ab")  # type: ignore[arg-type]


def test_repr_hides_secrets() -> None:
    store = ObjectStore("memory://r", storage_options={"secret": "hunter2", "anon": False})
    assert "hunter2" not in repr(store)
    assert "anon" in repr(store)
    assert store.protocol == "memory"
    assert store.storage_options == {"secret": "hunter2", "anon": False}


# -- S3 -----------------------------------------------------------------------------------------
@pytest.mark.s3
def test_s3_missing_bucket_is_a_storage_error(s3_endpoint: S3Endpoint) -> None:
    store = ObjectStore("s3://no-such-bucket/x", storage_options=s3_endpoint.storage_options)
    with pytest.raises(StorageError) as info:
        store.write("k", b"v")
    assert info.value.key == "k"
    assert "no-such-bucket" in str(info.value)


@pytest.mark.s3
def test_s3_unreachable_endpoint_is_a_storage_error() -> None:
    options = {
        "key": "x",
        "secret": "y",
        "endpoint_url": "http://127.0.0.1:9",  # discard port: nothing listens
        "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}},
        "skip_instance_cache": True,
    }
    store = ObjectStore("s3://bucket/x", storage_options=options)
    with pytest.raises(StorageError, match="Check the root URL"):
        store.read("k")


@pytest.mark.s3
def test_s3_bad_credentials_are_an_error_not_absence(s3_root: str, s3_endpoint: S3Endpoint) -> None:
    good = ObjectStore(s3_root, storage_options=s3_endpoint.storage_options)
    good.write("k", b"v")
    options = {**s3_endpoint.storage_options, "endpoint_url": "http://127.0.0.1:9"}
    options["config_kwargs"] = {"connect_timeout": 1, "retries": {"max_attempts": 1}}
    options["skip_instance_cache"] = True
    with pytest.raises(StorageError):
        ObjectStore(s3_root, storage_options=options).exists("k")


@pytest.mark.s3
def test_s3_streamed_read_errors_are_mapped(s3_root: str, s3_endpoint: S3Endpoint) -> None:
    store = ObjectStore(s3_root, storage_options=s3_endpoint.storage_options)
    store.write("gone", b"x" * 100)
    f = store.open("gone")
    store.delete("gone")
    with pytest.raises(StorageError):
        f.read()
    f.close()


@pytest.mark.s3
def test_s3_large_streamed_write_is_published_whole(s3_root: str, s3_endpoint: S3Endpoint) -> None:
    store = ObjectStore(s3_root, storage_options=s3_endpoint.storage_options)
    chunk = os.urandom(1 << 20)
    with store.open("data/big.parquet", "wb") as f:
        for _ in range(12):
            f.write(chunk)
    assert store.read("data/big.parquet") == chunk * 12


@pytest.mark.parametrize(
    ("error", "action", "expected", "message", "hint"),
    [
        (FileExistsError("x"), "write", AlreadyExists, "already exists", "re-read"),
        (OSError(17, "File exists"), "write", AlreadyExists, "already exists", "re-read"),
        (FileNotFoundError("x"), "read", ObjectNotFound, "No object", "Check the root"),
        (FileNotFoundError("x"), "write", StorageError, "a parent path is missing", "root"),
        (IsADirectoryError("d"), "read", StorageError, "a file and a directory collide", "aside"),
        (NotADirectoryError("d"), "write", StorageError, "collide on that path", "aside"),
        (PermissionError("no"), "list", StorageError, "permission denied", "credentials"),
        (OSError(28, "No space left"), "write", StorageError, "No space left", None),
        (RuntimeError("NoCredentialsError"), "read", StorageError, "RuntimeError", "endpoint"),
    ],
)
def test_backend_errors_become_storage_errors_that_say_what_to_do(
    error: Exception, action: str, expected: type, message: str, hint: str | None
) -> None:
    translated = _translate(error, "memory://lake", "k/1.parquet", action)
    assert type(translated) is expected
    assert message in str(translated)
    assert translated.key == "k/1.parquet"
    assert (translated.hint is None) if hint is None else (hint in (translated.hint or ""))


def test_a_local_store_works_without_importing_fsspec_until_fs_is_asked_for(
    tmp_path: Path,
) -> None:
    """Local disk is plain os calls: fsspec (and asyncio under it) is imported only for
    readers that want the filesystem object, such as pyarrow and DuckDB."""
    code = (
        "import sys\n"
        "from arco_nb import ObjectStore\n"
        f"store = ObjectStore({str(tmp_path / 'lake')!r})\n"
        "store.put_if_absent('a/b.json', b'1')\n"
        "assert store.read('a/b.json') == b'1' and store.list('a') == ['a/b.json']\n"
        "print('fsspec' in sys.modules, store.protocol)\n"
        "fs = store.fs\n"
        "print('fsspec' in sys.modules, type(fs).__name__, fs.cat_file(store.path('a/b.json')))\n"
    )
    out = in_fresh_interpreter(code)
    assert out == ["False file", "True LocalFileSystem b'1'"]


@pytest.mark.parametrize("form", ["{p}", "file://{p}", "local://{p}", "{p}/", "{p}/./x/.."])
def test_every_spelling_of_a_local_root_is_one_store(tmp_path: Path, form: str) -> None:
    ObjectStore(str(tmp_path)).write("k.json", b"1")
    assert ObjectStore(form.format(p=tmp_path)).read("k.json") == b"1"


def test_the_folders_a_local_write_creates_are_synced_into_their_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut must not keep a synced file and lose a folder leading to it: every folder
    a write creates is synced into the folder holding it, once."""
    from arco_nb.core import backends

    synced: list[str] = []
    real = backends._fsync_dir

    def recording(path: str) -> None:
        synced.append(os.path.relpath(path, tmp_path))
        real(path)

    monkeypatch.setattr(backends, "_fsync_dir", recording)
    store = ObjectStore(str(tmp_path / "lake"))
    store.write("data/a/_/m1.parquet", b"1")
    assert synced == [".", "lake", "lake/data", "lake/data/a", "lake/data/a/_"]
    synced.clear()
    store.write("data/a/_/m2.parquet", b"2")  # the folders are there: only the file's own
    assert synced == ["lake/data/a/_"]
    synced.clear()
    # Synced in the background (ADR 0020): the write waits for no folder, the sync does it.
    store.put_if_absent("data/b/_/m3.parquet", b"3", durable=False)
    assert synced == []
    store.sync("data/b/_/m3.parquet")
    assert synced == ["lake/data", "lake/data/b", "lake/data/b/_"]
