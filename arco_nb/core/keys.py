# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The rules every object key and tenant id obeys (``docs/adr/0003-multi-tenancy.md``).

The bottom of ``core``: the store (:mod:`arco_nb.core.storage`), its backends and the tenant
scope (:mod:`arco_nb.core.tenancy`) all check keys here, and this module imports none of them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import unquote

from arco_nb.core.errors import TenantViolation

__all__ = ["TEMP_MARK", "check_id", "check_key", "join_key"]

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_GLOB = frozenset("*?[]")  # fsspec expands these in rm/find/ls; a key must never glob
_MAX_SEGMENT_BYTES = 255  # longest file name on common local filesystems
_MAX_KEY_BYTES = 1024  # longest S3 object key
TEMP_MARK = ".arco-tmp-"  # reserved for the store's own in-flight files


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
        if segment.startswith(TEMP_MARK):
            return f"names starting with {TEMP_MARK!r} are reserved"
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
