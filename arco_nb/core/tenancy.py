# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tenant scope: which storage prefix a workspace owns, and the rules every key obeys.

A :class:`TenantScope` names one workspace of one tenant under a root URL. Everything that
workspace stores lives below ``{root}/tenants/{tenant}/workspaces/{workspace}/``; the store it
hands out (:meth:`TenantScope.store`) is rooted there and accepts only keys that
:func:`check_key` passes, so no key can reach another tenant's objects. See
``docs/adr/0003-multi-tenancy.md`` for what this isolation guarantees and what it does not.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from arco_nb.core.errors import ConfigError, TenantViolation

if TYPE_CHECKING:
    from arco_nb.core.storage import ObjectStore

__all__ = [
    "DEFAULT_ROOT",
    "DEFAULT_TENANT",
    "DEFAULT_WORKSPACE",
    "TenantScope",
    "check_id",
    "check_key",
    "join_key",
]

DEFAULT_ROOT = "./.arco"
DEFAULT_TENANT = "default"
DEFAULT_WORKSPACE = "default"

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_GLOB = frozenset("*?[]")  # fsspec expands these in rm/find/ls; a key must never glob
_MAX_SEGMENT_BYTES = 255  # longest file name on common local filesystems
_MAX_KEY_BYTES = 1024  # longest S3 object key
_TEMP_MARK = ".arco-tmp-"  # reserved for the store's own in-flight files


def check_id(value: object, *, kind: str) -> str:
    """Return ``value`` if it is a valid tenant or workspace id, else raise.

    Ids match ``[a-z0-9][a-z0-9_-]{0,62}``: lower case, digits, ``_`` and ``-``, starting with a
    letter or digit, at most 63 characters. They are used verbatim as path segments.

    Raises
    ------
    TenantViolation
        If ``value`` is not such a string.
    """
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise TenantViolation(
            str(value),
            reason=f"a {kind} id must match [a-z0-9][a-z0-9_-]{{0,62}}",
        )
    return value


def _problem(key: str) -> str | None:
    if not key:
        return "the key is empty"
    for char in key:
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            return "control characters and lone surrogates are not allowed"
    if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        return f"the key is longer than {_MAX_KEY_BYTES} bytes"
    if "\\" in key:
        return "backslashes are not allowed"
    if key.startswith(("/", "~")):
        return "absolute paths are not allowed"
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", key):
        return "URLs and drive letters are not allowed"
    if "::" in key:
        return "'::' chains URLs in fsspec and is not allowed"
    if any(c in _GLOB for c in key):
        return "glob characters * ? [ ] are not allowed"
    for segment in key.split("/"):
        if segment == "":
            return "empty path segments are not allowed"
        if segment in {".", ".."}:
            return "'.' and '..' segments are not allowed"
        if segment.startswith(_TEMP_MARK):
            return f"names starting with {_TEMP_MARK!r} are reserved"
        if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
            return f"a path segment is longer than {_MAX_SEGMENT_BYTES} bytes"
    return None


def check_key(key: object) -> str:
    """Return ``key`` if it is a safe relative object key, else raise :class:`TenantViolation`.

    A key is ``/``-separated segments. Refused: empty keys or segments, ``.`` and ``..``,
    absolute paths, URLs, backslashes, control characters, glob characters, names reserved for
    the store's temporary files, and any of these hidden behind URL (percent) encoding such as
    ``%2e%2e`` — a key must mean the same thing to every backend and every layer of decoding.
    """
    if not isinstance(key, str):
        raise TenantViolation(repr(key), reason="a key must be a string")
    problem = _key_problem(key)
    if problem is not None:
        raise TenantViolation(key, reason=problem)
    return key


@functools.lru_cache(maxsize=1 << 16)
def _key_problem(key: str) -> str | None:
    # Cached: stores check the same keys (log versions, hints) over and over.
    decoded = key
    for _ in range(4):  # double- and triple-encoding are classic traversal tricks
        problem = _problem(decoded)
        if problem is not None:
            return problem + (" (after URL decoding)" if decoded != key else "")
        step = unquote(decoded)
        if step == decoded:
            return None
        decoded = step
    return "the key is URL-encoded too many times"


def join_key(*parts: str) -> str:
    """Join key parts with ``/`` and check the result with :func:`check_key`."""
    return check_key("/".join(parts))


def _normalise_root(root: str) -> str:
    root = root.strip()
    if not root:
        raise ConfigError("The Arco root is empty", hint="Pass a path or URL such as ./.arco")
    if "://" in root:
        scheme = root.split("://", 1)[0]
        if scheme == "file":
            return "file://" + os.path.abspath(root[len("file://") :] or "/")
        path = root.split("://", 1)[1].rstrip("/")
        return f"{scheme}://{path}"
    # Local paths are pinned at construction so a later chdir cannot move the workspace.
    return os.path.abspath(os.path.expanduser(root))


@dataclass(frozen=True)
class TenantScope:
    """One workspace of one tenant under a storage root.

    Parameters
    ----------
    root
        A local path or an fsspec URL (``memory://lake``, ``s3://bucket/lake``). Local paths are
        made absolute.
    tenant, workspace
        Ids matching ``[a-z0-9][a-z0-9_-]{0,62}``.
    storage_options
        Passed to fsspec (credentials, ``endpoint_url``, ...). Never printed.

    Examples
    --------
    >>> scope = TenantScope("memory://lake", tenant="acme")
    >>> scope.prefix
    'tenants/acme/workspaces/default'
    >>> scope.url
    'memory://lake/tenants/acme/workspaces/default'
    """

    root: str = DEFAULT_ROOT
    tenant: str = DEFAULT_TENANT
    workspace: str = DEFAULT_WORKSPACE
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", _normalise_root(self.root))
        check_id(self.tenant, kind="tenant")
        check_id(self.workspace, kind="workspace")
        object.__setattr__(self, "storage_options", dict(self.storage_options))

    @classmethod
    def from_env(
        cls,
        root: str | None = None,
        *,
        tenant: str | None = None,
        workspace: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> TenantScope:
        """Build a scope from arguments, falling back to ``ARCO_ROOT``, ``ARCO_TENANT``,
        ``ARCO_WORKSPACE`` and then the defaults (``./.arco``, ``default``, ``default``)."""
        env = os.environ if environ is None else environ
        # An argument given as "" is a mistake to report, not "use the default"; an empty
        # environment variable counts as unset.
        if storage_options is None and env.get("ARCO_STORAGE_OPTIONS"):
            storage_options = _options_from_env(env["ARCO_STORAGE_OPTIONS"])
        return cls(
            root if root is not None else env.get("ARCO_ROOT") or DEFAULT_ROOT,
            tenant if tenant is not None else env.get("ARCO_TENANT") or DEFAULT_TENANT,
            workspace if workspace is not None else env.get("ARCO_WORKSPACE") or DEFAULT_WORKSPACE,
            storage_options=storage_options or {},
        )

    @property
    def prefix(self) -> str:
        """The scope's key prefix under the root, without a trailing slash."""
        return f"tenants/{self.tenant}/workspaces/{self.workspace}"

    @property
    def url(self) -> str:
        """The URL (or local path) every object of this scope lives under."""
        return f"{self.root}/{self.prefix}"

    def key(self, *parts: str) -> str:
        """Join ``parts`` into one checked key relative to this scope."""
        return join_key(*parts)

    def store(self) -> ObjectStore:
        """Return an :class:`~arco_nb.core.storage.ObjectStore` rooted at this scope's prefix."""
        from arco_nb.core.storage import ObjectStore

        if "://" not in self.root and os.path.exists(self.root) and not os.path.isdir(self.root):
            raise ConfigError(
                f"The root {self.root!r} is a file, not a directory",
                hint="Point --root / ARCO_ROOT at a directory (it is created if missing)",
            )
        return ObjectStore(self.url, storage_options=self.storage_options)


def _options_from_env(text: str) -> dict[str, Any]:
    """``ARCO_STORAGE_OPTIONS``: a JSON object of fsspec options (how a headless notebook
    kernel gets the command line's ``--storage-option``s)."""
    import json

    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(
            "ARCO_STORAGE_OPTIONS is not a JSON object",
            hint='Write it like {"endpoint_url": "http://127.0.0.1:9000"}',
        )
    return value
