# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Object store over fsspec with atomic writes and exclusive create (put-if-absent).

:class:`ObjectStore` is the only way Arco touches storage. It is rooted at one URL and speaks in
relative keys, each checked by :func:`~arco_nb.core.tenancy.check_key`, so nothing can be read or
written outside its root. Two guarantees hold on every supported backend:

* **Atomic visibility.** A reader sees either no object or a complete one, never a half-written
  object. Local disk writes a temporary file beside the target and renames (or links) it into
  place; ``memory://`` publishes a finished buffer; S3 objects only appear when the PUT completes.
* **Exclusive create.** :meth:`ObjectStore.put_if_absent` creates a key only if it does not
  exist, and exactly one of any number of racing writers wins; the others get
  :class:`~arco_nb.core.errors.AlreadyExists`. Local disk uses ``link(2)``, which fails if the
  target exists; ``memory://`` uses a lock; S3 sends ``If-None-Match: *``.

Supported protocols are ``file``, ``memory`` and ``s3`` (s3fs). See
``docs/adr/0002-object-store-and-atomic-writes.md``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, Literal

from arco_nb.core.errors import (
    AlreadyExists,
    ArcoError,
    ConfigError,
    ObjectNotFound,
    StorageError,
)
from arco_nb.core.tenancy import _TEMP_MARK, check_key

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["ObjectStore"]

_SUPPORTED = ("file", "memory", "s3")
# The keys of these storage options hold secrets; repr() never shows their values.
_SECRET_OPTIONS = {"key", "secret", "token", "password", "aws_secret_access_key", "session_token"}


def _protocol_of(fs: AbstractFileSystem | type[AbstractFileSystem]) -> str:
    proto = fs.protocol
    names = (proto,) if isinstance(proto, str) else tuple(proto)
    for name in names:
        if name in {"file", "local"}:
            return "file"
        if name in {"s3", "s3a"}:
            return "s3"
        if name == "memory":
            return "memory"
    return str(names[0])


class _Backend:
    """How one protocol implements the few operations whose semantics fsspec leaves open."""

    def __init__(self, fs: AbstractFileSystem) -> None:
        self.fs = fs

    def read(self, path: str) -> bytes:
        return bytes(self.fs.cat_file(path))

    def write(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(path, data)

    def put_if_absent(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        return bool(self.fs.isfile(path))

    def list(self, path: str) -> list[str]:
        try:
            found = self.fs.find(path, withdirs=False)
        except FileNotFoundError:
            return []
        return [str(p) for p in found]

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def open_read(self, path: str) -> IO[bytes]:
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]

    def open_write(self, path: str, *, exclusive: bool) -> _AtomicWriter:
        """A file whose bytes become visible at ``path`` only when it is closed cleanly."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by publish or discard

        def publish() -> None:
            with spool:
                spool.seek(0)
                data = spool.read()
            (self.put_if_absent if exclusive else self.write)(path, data)

        return _AtomicWriter(spool, publish, spool.close)


class _LocalBackend(_Backend):
    """Local disk: write beside the target, fsync, then rename (replace) or link (exclusive)."""

    def _temp_for(self, path: str) -> str:
        parent = os.path.dirname(path)
        try:
            os.makedirs(parent, exist_ok=True)
        except FileExistsError as exc:  # an object sits where a directory must go
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", exc.filename) from exc
        return os.path.join(parent, f"{_TEMP_MARK}{uuid.uuid4().hex}")

    def _write_temp(self, path: str, data: bytes) -> str:
        temp = self._temp_for(path)
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return temp

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def write(self, path: str, data: bytes) -> None:
        temp = self._write_temp(path, data)
        try:
            os.replace(temp, path)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def put_if_absent(self, path: str, data: bytes) -> None:
        temp = self._write_temp(path, data)
        try:
            # link(2) publishes the complete file under the new name, or fails if it exists.
            os.link(temp, path)
        finally:
            _unlink_quietly(temp)

    def exists(self, path: str) -> bool:
        return os.path.isfile(path)

    def list(self, path: str) -> list[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            found.extend(
                f"{dirpath}/{name}" for name in filenames if not name.startswith(_TEMP_MARK)
            )
        return found

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def open_write(self, path: str, *, exclusive: bool) -> _AtomicWriter:
        temp = self._temp_for(path)
        handle = open(temp, "wb")  # noqa: SIM115 - _AtomicWriter closes it

        def publish() -> None:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            try:
                if exclusive:
                    os.link(temp, path)
                else:
                    os.replace(temp, path)
            finally:
                _unlink_quietly(temp)

        def discard() -> None:
            handle.close()
            _unlink_quietly(temp)

        return _AtomicWriter(handle, publish, discard)


# One lock for the process: memory:// stores are process-global dictionaries.
_MEMORY_LOCK = threading.Lock()


class _MemoryBackend(_Backend):
    """memory://: publish only complete buffers, and serialise check-and-create with a lock."""

    def write(self, path: str, data: bytes) -> None:
        with _MEMORY_LOCK:
            self.fs.pipe_file(path, data)

    def put_if_absent(self, path: str, data: bytes) -> None:
        with _MEMORY_LOCK:
            # A dict lookup: fs.exists() would also scan every key for pseudo-directories.
            if path in self.fs.store:
                raise FileExistsError(path)
            self.fs.pipe_file(path, data)

    def open_read(self, path: str) -> IO[bytes]:
        # MemoryFileSystem hands out its own shared buffer; readers get a private copy.
        return io.BytesIO(self.read(path))


class _S3Backend(_Backend):
    """S3 (s3fs): PUTs are atomic; exclusive create is a conditional PUT (If-None-Match: *)."""

    _CONFLICT_RETRIES = 5

    def put_if_absent(self, path: str, data: bytes) -> None:
        for attempt in range(self._CONFLICT_RETRIES):
            try:
                self.fs.pipe_file(path, data, mode="create")
                return
            except OSError as exc:
                # 409 ConditionalRequestConflict: a concurrent conditional write is in flight;
                # S3 asks the client to retry, after which one of the two sees 412.
                if "ConditionalRequestConflict" not in str(exc):
                    raise
                time.sleep(0.01 * 2**attempt)
        raise StorageError(f"S3 kept reporting a conflicting conditional write to {path}")

    def open_write(self, path: str, *, exclusive: bool) -> _AtomicWriter:
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

        return _AtomicWriter(spool, publish, discard)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _AtomicWriter(io.RawIOBase):
    """A write-only file that publishes on a clean close and discards on error or abort."""

    def __init__(self, target: IO[bytes], publish: Any, discard: Any) -> None:
        super().__init__()
        self._target = target
        self._publish = publish
        self._discard = discard
        self._done = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._target.write(data)

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
        """Publish the written bytes at the key (atomically)."""
        if not self._done:
            self._done = True
            try:
                self._publish()
            except BaseException:
                self._discard()
                raise
        super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


_BACKENDS: dict[str, type[_Backend]] = {
    "file": _LocalBackend,
    "memory": _MemoryBackend,
    "s3": _S3Backend,
}


class ObjectStore:
    """A key-value view of one storage prefix, with atomic writes and put-if-absent.

    Parameters
    ----------
    url
        Local path or fsspec URL of the store's root (``./.arco``, ``memory://x``,
        ``s3://bucket/prefix``).
    storage_options
        Passed to fsspec unchanged: credentials, ``endpoint_url``, ``client_kwargs``, ...

    Notes
    -----
    Keys are relative, ``/``-separated and checked; see
    :func:`arco_nb.core.tenancy.check_key`. Every backend error comes out as a
    :class:`~arco_nb.core.errors.StorageError` (or a subclass) naming the key.
    """

    def __init__(self, url: str, *, storage_options: Mapping[str, Any] | None = None) -> None:
        self._url = url.rstrip("/") or url
        self._options = dict(storage_options or {})
        self._fs, self._root, self._backend = _connect(self._url, self._options)

    # -- identity -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The root this store was opened on."""
        return self._url

    @property
    def protocol(self) -> str:
        """``"file"``, ``"memory"`` or ``"s3"``."""
        return _protocol_of(self._fs)

    @property
    def fs(self) -> AbstractFileSystem:
        """The underlying fsspec filesystem (for readers such as pyarrow and DuckDB)."""
        return self._fs

    @property
    def storage_options(self) -> dict[str, Any]:
        """A copy of the fsspec options this store was opened with."""
        return dict(self._options)

    def __repr__(self) -> str:
        opts = {k: ("***" if k in _SECRET_OPTIONS else v) for k, v in self._options.items()}
        extra = f", storage_options={opts!r}" if opts else ""
        return f"ObjectStore({self._url!r}{extra})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._url, self._options))

    def path(self, key: str) -> str:
        """Return the backend path of ``key`` (checked), for tools that take fsspec paths."""
        return f"{self._root}/{check_key(key)}"

    def child(self, prefix: str) -> ObjectStore:
        """Return a store rooted at ``prefix`` below this one."""
        return ObjectStore(f"{self._url}/{check_key(prefix)}", storage_options=self._options)

    # -- operations -----------------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        """Return the whole object at ``key``.

        Raises
        ------
        ObjectNotFound
            If there is no object at ``key``.
        """
        path = self.path(key)
        with self._errors(key, "read"):
            return self._backend.read(path)

    def write(self, key: str, data: bytes) -> None:
        """Create or replace the object at ``key``; readers see the old or the new bytes only."""
        path = self.path(key)
        with self._errors(key, "write"):
            self._backend.write(path, bytes(data))

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Create the object at ``key`` only if no object is there.

        Of any number of concurrent callers for the same key, exactly one succeeds.

        Raises
        ------
        AlreadyExists
            If an object already exists at ``key``; it is left unchanged.
        """
        path = self.path(key)
        with self._errors(key, "create"):
            self._backend.put_if_absent(path, bytes(data))

    def exists(self, key: str) -> bool:
        """Tell whether an object exists at ``key``."""
        path = self.path(key)
        with self._errors(key, "check"):
            return self._backend.exists(path)

    def list(self, prefix: str = "") -> list[str]:
        """Return the keys of all objects under ``prefix`` (recursively), sorted.

        ``prefix`` is a key "directory": ``list("a")`` finds ``a/b`` and ``a/b/c`` but not
        ``ab``. An empty prefix lists the whole store; a missing prefix lists nothing.
        """
        base = self.path(prefix.rstrip("/")) if prefix else self._root
        with self._errors(prefix or ".", "list"):
            paths = self._backend.list(base)
        root = self._root.rstrip("/") + "/"
        below = base.rstrip("/") + "/"
        keys = [p[len(root) :] for p in paths if p.startswith(below)]
        return sorted(k for k in keys if not k.rsplit("/", 1)[-1].startswith(_TEMP_MARK))

    def delete(self, key: str) -> None:
        """Delete the object at ``key``. Deleting a missing object is not an error."""
        path = self.path(key)
        with self._errors(key, "delete"):
            self._backend.delete(path)

    def open(self, key: str, mode: Literal["rb", "wb", "xb"] = "rb") -> IO[bytes]:
        """Open ``key`` for streaming.

        ``"rb"`` reads. ``"wb"`` and ``"xb"`` write a new object that becomes visible, whole,
        when the file is closed (``"xb"``: only if the key is still absent then, else
        :class:`AlreadyExists`); leaving a ``with`` block by an exception discards it.
        """
        path = self.path(key)
        if mode == "rb":
            with self._errors(key, "open"):
                return self._backend.open_read(path)
        if mode in ("wb", "xb"):
            with self._errors(key, "open"):
                writer = self._backend.open_write(path, exclusive=mode == "xb")
            return _ErrorMappingWriter(writer, self, key)  # type: ignore[return-value]
        raise ConfigError(f"Unsupported mode {mode!r}", hint="Use 'rb', 'wb' or 'xb'")

    # -- errors ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        try:
            yield
        except ArcoError:
            raise
        except FileExistsError as exc:
            raise AlreadyExists(key, url=self._url) from exc
        except FileNotFoundError as exc:
            if action in {"open", "read"}:
                raise ObjectNotFound(key, url=self._url) from exc
            raise StorageError(
                f"Cannot {action} {key!r} under {self._url}: a parent path is missing",
                key=key,
                url=self._url,
                hint="Check that the root exists",
            ) from exc
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise StorageError(
                f"Cannot {action} {key!r}: a file and a directory collide on that path ({exc})",
                key=key,
                url=self._url,
                hint="Something other than Arco wrote there; move it aside",
            ) from exc
        except PermissionError as exc:
            raise StorageError(
                f"Permission denied to {action} {key!r} under {self._url}",
                key=key,
                url=self._url,
                hint="Check the credentials or file permissions of this root",
            ) from exc
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise AlreadyExists(key, url=self._url) from exc
            raise StorageError(
                f"Cannot {action} {key!r} under {self._url}: {exc}", key=key, url=self._url
            ) from exc
        except Exception as exc:  # botocore credential and endpoint errors, for instance
            raise StorageError(
                f"Cannot {action} {key!r} under {self._url}: {type(exc).__name__}: {exc}",
                key=key,
                url=self._url,
                hint="Check the root URL, endpoint and credentials",
            ) from exc


class _ErrorMappingWriter(io.RawIOBase):
    """Maps backend errors raised when a streamed write publishes (at close)."""

    def __init__(self, writer: _AtomicWriter, store: ObjectStore, key: str) -> None:
        super().__init__()
        self._writer = writer
        self._store = store
        self._key = key

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        with self._store._errors(self._key, "write"):
            return self._writer.write(data)

    def tell(self) -> int:
        return self._writer.tell()

    def flush(self) -> None:
        self._writer.flush()

    def abort(self) -> None:
        """Discard what was written; nothing becomes visible."""
        self._writer.abort()
        super().close()

    def close(self) -> None:
        if not self.closed:
            try:
                with self._store._errors(self._key, "write"):
                    self._writer.close()
            finally:
                super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def _connect(url: str, options: dict[str, Any]) -> tuple[AbstractFileSystem, str, _Backend]:
    import fsspec
    import fsspec.core

    protocol = url.split("://", 1)[0] if "://" in url else "file"
    # Check the protocol before constructing a filesystem: some connect in their constructor.
    try:
        name = _protocol_of(fsspec.get_filesystem_class(protocol))
    except ImportError as exc:
        package = "s3fs (pip install 'arco-nb[s3]')" if protocol.startswith("s3") else str(exc)
        raise ConfigError(f"Cannot open {url}: missing {package}") from exc
    except ValueError as exc:
        raise ConfigError(f"Cannot open {url}: {exc}") from exc
    backend = _BACKENDS.get(name)
    if backend is None:
        raise ConfigError(
            f"Arco cannot store metadata on {name}:// yet",
            hint=f"Supported protocols: {', '.join(_SUPPORTED)}",
        )
    kwargs = dict(options)
    if name == "s3":
        # Listings must reflect other writers' commits; fsspec would otherwise cache them.
        kwargs.setdefault("use_listings_cache", False)
    try:
        fs, root = fsspec.core.url_to_fs(url, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Cannot open {url}: {exc}") from exc
    root = str(root).rstrip("/")
    if name == "file" and os.path.isfile(root):
        raise ConfigError(f"The Arco root {url} is a file", hint="Point the root at a directory")
    return fs, root, backend(fs)


def _reopen(url: str, options: dict[str, Any]) -> ObjectStore:
    return ObjectStore(url, storage_options=options)
