# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Per-protocol implementations behind :class:`~arco_nb.core.storage.ObjectStore`.

fsspec gives one API over many filesystems but leaves open exactly what the catalog needs:
whether a reader can see half an object, and whether "create if absent" is atomic. Each backend
here pins those down for one protocol; ``docs/adr/0002-object-store-and-atomic-writes.md``
explains the choices.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, ClassVar

from arco_nb.core.errors import StorageError
from arco_nb.core.keys import TEMP_MARK

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["BACKENDS", "AtomicWriter", "Backend", "backend_for", "protocol_of"]


def protocol_of(fs: AbstractFileSystem | type[AbstractFileSystem]) -> str:
    """The name of the backend serving ``fs`` (``"file"``, ``"memory"``, ``"s3"``), else the
    filesystem's own first protocol name."""
    proto = fs.protocol
    names = (proto,) if isinstance(proto, str) else tuple(proto)
    for name in names:
        for backend in BACKENDS.values():
            if name in backend.protocols:
                return backend.name
    return str(names[0])


def backend_for(url: str) -> type[Backend] | None:
    """The backend class whose protocols include ``url``'s (``None`` if none does)."""
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    return next((b for b in BACKENDS.values() if protocol in b.protocols), None)


class AtomicWriter(io.RawIOBase):
    """A write-only file that publishes on a clean close and discards otherwise.

    Discarded: leaving a ``with`` block by an exception, :meth:`abort`, a failed ``write``, and
    being garbage-collected without ``close()``. Nothing half-written ever becomes visible.
    """

    def __init__(
        self, target: IO[bytes], publish: Callable[[], None], discard: Callable[[], None]
    ) -> None:
        super().__init__()
        self._target = target
        self._publish = publish
        self._discard = discard
        self._done = False
        self._failed = False
        # The store sets this to translate backend errors into StorageErrors naming the key.
        self.guard: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            with self.guard():
                return self._target.write(data)
        except BaseException:
            self._failed = True
            raise

    def tell(self) -> int:
        return self._target.tell()

    def flush(self) -> None:
        if not self._done:
            self._target.flush()

    def abort(self) -> None:
        """Throw the written bytes away; nothing becomes visible."""
        if not self._done:
            self._done = True
            self._discard()
        super().close()

    def close(self) -> None:
        """Publish the written bytes at the key (atomically), unless a write failed."""
        if self._failed:
            self.abort()
            return
        if not self._done:
            self._done = True
            try:
                with self.guard():
                    self._publish()
            except BaseException:
                self._discard()
                super().close()
                raise
        super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # RawIOBase.__del__ would close(), which publishes: an unclosed writer must not.
        with contextlib.suppress(Exception):
            self.abort()


class Backend:
    """Operations on full backend paths. Subclasses fix the semantics per protocol.

    Each subclass declares what the rest of Arco derives from it (fsspec's registry model):
    its ``name``, the fsspec ``protocols`` it serves, the package that provides them
    (``install``), and fsspec ``default_options`` a user's options may override.
    """

    name: ClassVar[str]
    protocols: ClassVar[tuple[str, ...]]
    install: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self, fs: AbstractFileSystem | None = None) -> None:
        self._fs = fs

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec filesystem (made on first use where the backend does without it)."""
        if self._fs is None:
            import fsspec

            self._fs = fsspec.filesystem(self.protocols[0])
        return self._fs

    def read(self, path: str) -> bytes:
        return bytes(self.fs.cat_file(path))

    def write(self, path: str, data: bytes, *, durable: bool = True) -> None:  # noqa: ARG002
        self.fs.pipe_file(path, data)

    def put_if_absent(self, path: str, data: bytes, *, durable: bool = True) -> None:
        raise NotImplementedError

    #: Whether :meth:`sync` does anything: local disk flushes as a step of its own, object
    #: stores hold an object durably once its write returns.
    syncs_separately: ClassVar[bool] = False

    def sync(self, path: str) -> None:
        """Make the object at ``path``, written with ``durable=False``, durable."""

    def exists(self, path: str) -> bool:
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return False
        return bool(info.get("type") == "file")

    def list(self, path: str) -> list[str]:
        try:
            found = self.fs.find(path, withdirs=False)
        except FileNotFoundError:
            return []
        return [str(p) for p in found]

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def move(self, source: str, target: str) -> None:
        """Give the object at ``source`` the name ``target`` (replacing any object there).
        Not atomic on object stores (a copy, then a delete): the caller must be able to
        find the object under either name, or both."""
        self.write(target, self.read(source))
        self.delete(source)

    def open_read(self, path: str) -> IO[bytes]:
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]

    def leftover_temps(self, path: str, *, before: float) -> tuple[str, ...]:  # noqa: ARG002
        """Temporary files under ``path`` that writers left behind (killed mid-write) and
        last changed before ``before`` (seconds since the epoch). Only local disk has any."""
        return ()

    def open_write(self, path: str, *, exclusive: bool) -> AtomicWriter:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by publish or discard

        def publish() -> None:
            with spool:
                spool.seek(0)
                data = spool.read()
            (self.put_if_absent if exclusive else self.write)(path, data)

        return AtomicWriter(spool, publish, spool.close)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# Folders this process created whose names are not synced yet (see LocalBackend._open_temp).
_UNSYNCED: set[str] = set()
_UNSYNCED_LOCK = threading.Lock()


def _sync_folders(path: str) -> None:
    """Make ``path``'s name durable: sync its folder, and first each folder leading to it
    that this process created and has not synced into its parent yet (top-most first)."""
    if _UNSYNCED:
        made = []
        folder = os.path.dirname(path)
        with _UNSYNCED_LOCK:
            while folder in _UNSYNCED:
                made.append(folder)
                folder = os.path.dirname(folder)
        for created in reversed(made):
            _fsync_dir(os.path.dirname(created))
            with _UNSYNCED_LOCK:
                _UNSYNCED.discard(created)
    _fsync_dir(os.path.dirname(path))


def _fsync_dir(path: str) -> None:
    # Makes the new directory entry durable: a committed name must survive a power cut.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBackend(Backend):
    """Local disk: write beside the target, fsync, then rename (replace) or link (exclusive)."""

    name = "file"
    protocols = ("file", "local")
    syncs_separately = True

    def sync(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _sync_folders(path)

    def leftover_temps(self, path: str, *, before: float) -> tuple[str, ...]:
        found = []
        for directory, _, names in os.walk(path):
            for name in names:
                if name.startswith(TEMP_MARK):
                    temp = os.path.join(directory, name)
                    with contextlib.suppress(FileNotFoundError):  # its writer just finished
                        if os.stat(temp).st_mtime < before:
                            found.append(temp)
        return tuple(sorted(found))

    def _open_temp(self, path: str) -> tuple[str, IO[bytes]]:
        parent = os.path.dirname(path)
        temp = os.path.join(parent, f"{TEMP_MARK}{uuid.uuid4().hex}")
        try:  # the directory is usually there: no mkdir call for it
            return temp, open(temp, "xb")
        except FileNotFoundError:
            pass
        missing = []  # the folders makedirs creates, deepest first
        folder = parent
        while folder and not os.path.isdir(folder) and folder != os.path.dirname(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        try:
            os.makedirs(parent, exist_ok=True)
        except FileExistsError as exc:  # an object sits where a directory must go
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", exc.filename) from exc
        # A new folder's name is durable once the folder holding it is synced: without that,
        # a power cut could keep a synced file and lose the folders leading to it. Synced
        # with the first file made durable below it (a durable write, or sync), so a write
        # that syncs in the background does not wait for its folders either.
        with _UNSYNCED_LOCK:
            _UNSYNCED.update(missing)
        return temp, open(temp, "xb")

    def _write_temp(self, path: str, data: bytes, *, durable: bool = True) -> str:
        temp, handle = self._open_temp(path)
        try:
            with handle as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(temp)
            raise
        return temp

    def _publish(self, temp: str, path: str, *, exclusive: bool, durable: bool = True) -> None:
        try:
            if exclusive:
                # link(2) publishes the complete file under the new name, or fails if it exists.
                try:
                    os.link(temp, path)
                except FileExistsError:
                    if os.path.isdir(path):
                        raise IsADirectoryError(errno.EISDIR, "is a directory", path) from None
                    raise
            else:
                os.replace(temp, path)
        finally:
            _unlink_quietly(temp)
        if durable:
            _sync_folders(path)

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def write(self, path: str, data: bytes, *, durable: bool = True) -> None:
        temp = self._write_temp(path, data, durable=durable)
        self._publish(temp, path, exclusive=False, durable=durable)

    def put_if_absent(self, path: str, data: bytes, *, durable: bool = True) -> None:
        temp = self._write_temp(path, data, durable=durable)
        self._publish(temp, path, exclusive=True, durable=durable)

    def exists(self, path: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def list(self, path: str) -> list[str]:
        def fail(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):
                raise exc

        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(path, onerror=fail):
            dirnames.sort()
            found.extend(
                f"{dirpath}/{name}" for name in filenames if not name.startswith(TEMP_MARK)
            )
        return found

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def move(self, source: str, target: str) -> None:
        # Not synced: a rename lost in a power cut leaves the object under its old name.
        try:
            os.replace(source, target)
        except FileNotFoundError:
            if not os.path.exists(source):
                raise
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)

    def open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def open_write(self, path: str, *, exclusive: bool) -> AtomicWriter:
        temp, handle = self._open_temp(path)  # AtomicWriter closes it

        def publish() -> None:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            self._publish(temp, path, exclusive=exclusive)

        def discard() -> None:
            handle.close()
            _unlink_quietly(temp)

        return AtomicWriter(handle, publish, discard)


# One lock for the process: memory:// stores are process-global dictionaries.
_MEMORY_LOCK = threading.Lock()


class MemoryBackend(Backend):
    """memory://: publish only complete buffers; check-and-create under one lock."""

    name = "memory"
    protocols = ("memory",)

    def _check_parents(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0]
        while parent and parent != "/":
            if parent in self.fs.store:
                raise NotADirectoryError(errno.ENOTDIR, "an object is in the way", parent)
            parent = parent.rsplit("/", 1)[0]

    def write(self, path: str, data: bytes, *, durable: bool = True) -> None:  # noqa: ARG002
        with _MEMORY_LOCK:
            self._check_parents(path)
            self.fs.pipe_file(path, data)

    def put_if_absent(self, path: str, data: bytes, *, durable: bool = True) -> None:  # noqa: ARG002
        with _MEMORY_LOCK:
            # A dict lookup: fs.exists() would also scan every key for pseudo-directories.
            if path in self.fs.store:
                raise FileExistsError(path)
            self._check_parents(path)
            self.fs.pipe_file(path, data)

    def exists(self, path: str) -> bool:
        return path in self.fs.store

    def list(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return [k for k in list(self.fs.store) if k.startswith(prefix)]

    def open_read(self, path: str) -> IO[bytes]:
        # MemoryFileSystem hands out its own shared buffer; readers get a private copy.
        return io.BytesIO(self.read(path))


class S3Backend(Backend):
    """S3 (s3fs): PUTs are atomic; exclusive create is a conditional PUT (If-None-Match: *)."""

    name = "s3"
    protocols = ("s3", "s3a")
    install = "s3fs (pip install 'arco-nb[s3]')"
    # Listings must reflect other writers' commits; fsspec would otherwise cache them.
    default_options = MappingProxyType({"use_listings_cache": False})

    _CONFLICT_RETRIES = 5

    def put_if_absent(self, path: str, data: bytes, *, durable: bool = True) -> None:  # noqa: ARG002
        for attempt in range(self._CONFLICT_RETRIES):
            try:
                self.fs.pipe_file(path, data, mode="create")
                return
            except FileExistsError:
                # If our PUT succeeded but its response was lost, botocore's retry gets 412.
                # The object then holds exactly our bytes: that is a win, not a loss.
                with contextlib.suppress(OSError):
                    if self.read(path) == data:
                        return
                raise
            except OSError as exc:
                # 409 ConditionalRequestConflict: a concurrent conditional write is in flight;
                # S3 asks the client to retry, after which one of the two sees 412.
                if "ConditionalRequestConflict" not in str(exc):
                    raise
                time.sleep(0.01 * 2**attempt)
        raise StorageError(f"S3 kept reporting a conflicting conditional write to {path}")

    def open_write(self, path: str, *, exclusive: bool) -> AtomicWriter:
        # Spool to local disk, then upload in one go; large files become a multipart upload
        # that S3 only makes visible on completion (conditional when exclusive).
        spool = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115 - closed on publish

        def publish() -> None:
            spool.close()
            try:
                self.fs.put_file(spool.name, path, mode="create" if exclusive else "overwrite")
            finally:
                _unlink_quietly(spool.name)

        def discard() -> None:
            spool.close()
            _unlink_quietly(spool.name)

        return AtomicWriter(spool, publish, discard)


BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (LocalBackend, MemoryBackend, S3Backend)}
