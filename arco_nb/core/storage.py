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

import errno
import io
import os
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, Literal

from arco_nb.core.backends import BACKENDS, Backend, LocalBackend, backend_for, protocol_of
from arco_nb.core.errors import (
    AlreadyExists,
    ArcoError,
    ConfigError,
    ObjectNotFound,
    StorageError,
)
from arco_nb.core.keys import TEMP_MARK, check_key

if TYPE_CHECKING:
    import datetime as dt

    from fsspec import AbstractFileSystem

__all__ = ["ObjectStore"]

# The keys of these storage options hold secrets; repr() never shows their values.
_SECRET_OPTIONS = {"key", "secret", "token", "password", "aws_secret_access_key", "session_token"}


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
        self._url = _strip_url(url)
        self._options = dict(storage_options or {})
        self._root, self._backend = _connect(self._url, self._options)

    @classmethod
    def _below(cls, parent: ObjectStore, prefix: str) -> ObjectStore:
        child = cls.__new__(cls)
        child._url = f"{parent._url}/{prefix}"
        child._options = parent._options
        child._backend = parent._backend
        child._root = f"{parent._root}/{prefix}"
        return child

    # -- identity -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The root this store was opened on."""
        return self._url

    @property
    def protocol(self) -> str:
        """``"file"``, ``"memory"`` or ``"s3"``."""
        return self._backend.name

    @property
    def fs(self) -> AbstractFileSystem:
        """The underlying fsspec filesystem (for readers such as pyarrow and DuckDB)."""
        return self._backend.fs

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
        """Return a store rooted at ``prefix`` below this one (sharing its connection)."""
        # Joined onto the resolved root, never re-parsed as a URL: a key cannot change protocol.
        return ObjectStore._below(self, check_key(prefix))

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

    def write(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Create or replace the object at ``key``; readers see the old or the new bytes only.

        ``durable=False`` skips flushing to stable storage where that is a separate step (local
        disk: no ``fsync``). Still atomic; only what a power cut may lose changes.
        """
        path = self.path(key)
        payload = _as_bytes(data)
        with self._errors(key, "write"):
            self._backend.write(path, payload, durable=durable)

    def put_if_absent(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Create the object at ``key`` only if no object is there.

        Of any number of concurrent callers for the same key, exactly one succeeds. ``durable``
        as for :meth:`write`.

        Raises
        ------
        AlreadyExists
            If an object already exists at ``key``; it is left unchanged.
        """
        path = self.path(key)
        payload = _as_bytes(data)
        with self._errors(key, "create"):
            self._backend.put_if_absent(path, payload, durable=durable)

    @property
    def syncs_separately(self) -> bool:
        """Whether :meth:`sync` has work to do (local disk); elsewhere a write is durable."""
        return self._backend.syncs_separately

    def sync(self, key: str) -> None:
        """Make the object at ``key``, written with ``durable=False``, durable (local disk:
        ``fsync`` of the file and of its directory). Nothing to do on other backends."""
        if self._backend.syncs_separately:
            path = self.path(key)
            with self._errors(key, "sync"):
                self._backend.sync(path)

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
        prefix = prefix.rstrip("/") if isinstance(prefix, str) else check_key(prefix)
        base = self.path(prefix) if prefix else self._root
        with self._errors(prefix or ".", "list"):
            paths = self._backend.list(base)
        root = self._root.rstrip("/") + "/"
        below = base.rstrip("/") + "/"
        return sorted(
            k for k in (p[len(root) :] for p in paths if p.startswith(below)) if _listable(k)
        )

    def delete(self, key: str) -> None:
        """Delete the object at ``key``. Deleting a missing object is not an error."""
        path = self.path(key)
        with self._errors(key, "delete"):
            self._backend.delete(path)

    def move(self, key: str, to: str) -> None:
        """Give the object at ``key`` the key ``to``, replacing any object there.

        Atomic on local disk (a rename); elsewhere a copy then a delete, so a reader may
        briefly find the object under both keys.

        Raises
        ------
        ObjectNotFound
            If there is no object at ``key``.
        """
        source, target = self.path(key), self.path(to)
        with self._errors(key, "move"):
            self._backend.move(source, target)

    def remove_leftover_temps(self, older_than: dt.timedelta, *, dry_run: bool = False) -> int:
        """Delete the temporary files of writes that never finished (a writer killed mid-write)
        and are older than ``older_than``; return how many (``dry_run``: would go)."""
        before = time.time() - older_than.total_seconds()
        with self._errors(".", "list"):
            temps = self._backend.leftover_temps(self._root, before=before)
        if not dry_run:
            for temp in temps:
                with self._errors(temp.rsplit("/", 1)[-1], "delete"):
                    self._backend.delete(temp)
        return len(temps)

    def open(self, key: str, mode: Literal["rb", "wb", "xb"] = "rb") -> IO[bytes]:
        """Open ``key`` for streaming.

        ``"rb"`` reads. ``"wb"`` and ``"xb"`` write a new object that becomes visible, whole,
        when the file is closed (``"xb"``: only if the key is still absent then, else
        :class:`AlreadyExists`); leaving a ``with`` block by an exception discards it.
        """
        path = self.path(key)
        if mode == "rb":
            with self._errors(key, "open"):
                source = self._backend.open_read(path)
            return _ErrorMappingReader(source, self, key)  # type: ignore[return-value]
        if mode in ("wb", "xb"):
            with self._errors(key, "open"):
                writer = self._backend.open_write(path, exclusive=mode == "xb")
            writer.guard = lambda: self._errors(key, "write")
            return writer  # type: ignore[return-value]
        raise ConfigError(f"Unsupported mode {mode!r}", hint="Use 'rb', 'wb' or 'xb'")

    # -- errors ---------------------------------------------------------------------------------
    def _errors(self, key: str, action: str) -> _Translate:
        return _Translate(self._url, key, action)


class _Translate:
    """Turns backend exceptions into :class:`StorageError` subclasses naming the key.

    A small class rather than ``@contextmanager``: it wraps every storage call, so it is hot.
    """

    __slots__ = ("_action", "_key", "_url")

    def __init__(self, url: str, key: str, action: str) -> None:
        self._url, self._key, self._action = url, key, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # A filesystem refusing an option it was given (storage_options) is bad configuration.
        if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
            raise ConfigError(
                f"The storage options for {self._url} were refused: {exc}",
                hint="Check storage_options (--storage-option KEY=VALUE)",
            ) from exc
        # ArcoErrors pass through, and so do TypeError and AttributeError: a caller's mistake.
        if isinstance(exc, Exception) and not isinstance(
            exc, ArcoError | TypeError | AttributeError
        ):
            raise _translate(exc, self._url, self._key, self._action) from exc


def _translate(exc: Exception, url: str, key: str, action: str) -> StorageError:
    if isinstance(exc, FileExistsError) or (isinstance(exc, OSError) and exc.errno == errno.EEXIST):
        return AlreadyExists(key, url=url)
    if isinstance(exc, FileNotFoundError) and action in {"open", "read", "move"}:
        return ObjectNotFound(key, url=url)
    problem, hint = _explain(exc)
    return StorageError(
        f"Cannot {action} {key!r} under {url}: {problem}", key=key, url=url, hint=hint
    )


def _explain(exc: Exception) -> tuple[str, str | None]:
    """What went wrong with a storage call, in words, and what to do about it."""
    if isinstance(exc, FileNotFoundError):
        return "a parent path is missing", "Check that the root exists"
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return (
            f"a file and a directory collide on that path ({exc})",
            "Something other than Arco wrote there; move it aside",
        )
    if isinstance(exc, PermissionError):
        return "permission denied", "Check the credentials or file permissions of this root"
    if isinstance(exc, OSError):
        return str(exc), None
    # botocore credential and endpoint errors, for instance
    return f"{type(exc).__name__}: {exc}", "Check the root URL, endpoint and credentials"


def _connect(url: str, options: dict[str, Any]) -> tuple[str, Backend]:
    protocol = url.split("://", 1)[0] if "://" in url else "file"
    if protocol in LocalBackend.protocols and not options:
        # Local disk needs no fsspec (and its import) until a reader asks for ``fs``.
        root = _local_root(url.split("://", 1)[1] if "://" in url else url)
        if os.path.isfile(root):
            raise ConfigError(
                f"The Arco root {url} is a file", hint="Point the root at a directory"
            )
        return root, LocalBackend()
    import fsspec
    import fsspec.core

    # Check the protocol before constructing a filesystem: some connect in their constructor.
    try:
        name = protocol_of(fsspec.get_filesystem_class(protocol))
    except ImportError as exc:
        known = backend_for(url)
        package = known.install if known is not None and known.install else str(exc)
        raise ConfigError(f"Cannot open {url}: missing {package}") from exc
    except ValueError as exc:
        raise ConfigError(f"Cannot open {url}: {_visible(exc)}") from exc
    backend = BACKENDS.get(name)
    if backend is None:
        raise ConfigError(
            f"Arco cannot store metadata on {name}:// yet",
            hint=f"Supported protocols: {', '.join(BACKENDS)}",
        )
    kwargs = {**backend.default_options, **options}
    try:
        fs, root = fsspec.core.url_to_fs(url, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Cannot open {url}: {_visible(exc)}") from exc
    root = str(root).rstrip("/")
    if name == "file" and os.path.isfile(root):
        raise ConfigError(f"The Arco root {url} is a file", hint="Point the root at a directory")
    return root, backend(fs)


def _local_root(path: str) -> str:
    """An absolute, ``/``-separated path, as fsspec's local filesystem makes it."""
    path = os.path.expanduser(path) if path.startswith("~") else path
    return os.path.abspath(path).replace(os.sep, "/").rstrip("/") or "/"


def _strip_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("The store root is empty", hint="Pass a path or URL such as ./.arco")
    scheme, sep, rest = url.strip().rpartition("://")
    if sep and "::" in url:
        raise ConfigError(f"Chained URLs are not supported: {url}")
    path = rest.rstrip("/") or rest  # "memory://" and "file:///" keep their root
    return f"{scheme}{sep}{path}" if sep else (url.rstrip("/") or url)


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"object data must be bytes-like, not {type(data).__name__}")


# Control characters shown as escapes: a storage option echoed back in an error ("\r0") must
# not break the one-line message or rewrite the terminal line.
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), 127]}


def _visible(exc: Exception) -> str:
    return str(exc).translate(_ESCAPES)


def _listable(key: str) -> bool:
    # Foreign files (made by other tools) that no key could name are not part of the store.
    if key.rsplit("/", 1)[-1].startswith(TEMP_MARK):
        return False
    try:
        check_key(key)
    except ArcoError:
        return False
    return True


class _ErrorMappingReader(io.RawIOBase):
    """Maps backend errors raised while streaming a read (S3 reads lazily)."""

    def __init__(self, source: IO[bytes], store: ObjectStore, key: str) -> None:
        super().__init__()
        self._source = source
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._source.seekable())

    def readinto(self, buffer: Any) -> int:
        with self._store._errors(self._key, "read"):
            data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        with self._store._errors(self._key, "read"):
            return self._source.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._store._errors(self._key, "read"):
            return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def _reopen(url: str, options: dict[str, Any]) -> ObjectStore:
    return ObjectStore(url, storage_options=options)
