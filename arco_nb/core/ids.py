# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Identifiers: time-sortable unique ids and deterministic content ids.

* :func:`new_id` gives a 26-character ULID-style id (48-bit millisecond time + 80 random bits,
  Crockford base32, lower case). Ids sort by creation time as plain strings, so object listings
  and Parquet columns sorted by id are in time order. Within one process ids are strictly
  increasing even when many are made in the same millisecond.
* :func:`canonical_json` gives the one byte string a JSON value has (sorted keys, no spaces,
  UTF-8, no NaN); :func:`content_hash` and :func:`content_id` hash it with SHA-256. Replayed events
  and identical plans therefore get identical ids, on any machine and any Python version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import os
import threading
import time
from typing import Any

__all__ = [
    "canonical_json",
    "content_hash",
    "content_id",
    "id_number",
    "id_timestamp",
    "is_id",
    "new_id",
]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32; ASCII order = value order
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_TIME_MAX = (1 << 48) - 1
ID_LENGTH = 26

_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def _encode(value: int) -> str:
    chars = []
    for _ in range(ID_LENGTH):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(*, now_ms: int | None = None) -> str:
    """Return a new unique id that sorts after every id this process made before.

    Parameters
    ----------
    now_ms
        Milliseconds since the epoch to stamp the id with (default: the clock). Tests use it.

    Returns
    -------
    str
        26 lower-case Crockford base32 characters.
    """
    global _last_ms, _last_random
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not 0 <= ms <= _TIME_MAX:
        raise ValueError(f"timestamp {ms} ms is outside the 48-bit range of ids")
    with _lock:
        if ms <= _last_ms:
            # Same millisecond (or the clock stepped back): stay monotonic by counting up.
            ms = _last_ms
            rand = _last_random + 1
            if rand > _RANDOM_MAX:
                ms, rand = ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            # Keep the top bit clear so a burst in one millisecond cannot overflow.
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms, _last_random = ms, rand
    return _encode((ms << _RANDOM_BITS) | rand)


def is_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of an id made by :func:`new_id`."""
    return len(value) == ID_LENGTH and all(c in _DECODE for c in value) and value[0] <= "7"


def id_timestamp(value: str) -> dt.datetime:
    """Return the UTC creation time encoded in an id from :func:`new_id`."""
    return dt.datetime.fromtimestamp((id_number(value) >> _RANDOM_BITS) / 1000, tz=dt.UTC)


def id_number(value: str) -> int:
    """The 128-bit number an id from :func:`new_id` encodes (e.g. for ``uuid.UUID(int=...)``)."""
    if not is_id(value):
        raise ValueError(f"{value!r} is not an Arco id")
    number = 0
    for c in value:
        number = number * 32 + _DECODE[c]
    return number


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r} has no canonical form; give it a timezone")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes.

    Keys are sorted, separators carry no spaces, text is UTF-8 (not ``\\u`` escaped), tuples
    become lists, sets become sorted lists, dataclasses become objects, aware datetimes become
    ISO 8601 in UTC. NaN and infinities are refused: they have no JSON form.

    Raises
    ------
    TypeError
        If ``value`` holds something without a canonical form.
    ValueError
        If it holds a NaN or infinite float.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    ).encode("utf-8")


def content_hash(value: Any) -> str:
    """Return the SHA-256 hex digest of ``value``'s canonical JSON (64 characters)."""
    data = value if isinstance(value, bytes) else canonical_json(value)
    return hashlib.sha256(data).hexdigest()


def content_id(value: Any, *, prefix: str = "", length: int = 32) -> str:
    """Return a deterministic id for ``value``: ``prefix`` + the first ``length`` hex digits.

    Equal values (in the canonical JSON sense) always give equal ids, so writing the same event
    twice produces the same object key and the second write deduplicates.
    """
    if not 16 <= length <= 64:
        raise ValueError("length must be between 16 and 64 hex digits")
    return prefix + content_hash(value)[:length]
