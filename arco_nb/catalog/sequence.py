# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Numbered JSON objects created put-if-absent: the shape of both the commit log and the
compaction manifests.

Object ``n`` lives at ``{prefix}/{n:020d}.json`` and is created only if absent, so each number
has exactly one object, written once. A hint object records the highest number seen; readers
probe forward from it (one ``exists`` per newer object) and fall back to listing when the hint is
missing or wrong, so the hint speeds reads up but never decides them.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from typing import Any

from arco_nb.core.errors import CorruptObject, ObjectNotFound, StorageError
from arco_nb.core.ids import canonical_json
from arco_nb.core.storage import ObjectStore

__all__ = ["NumberedObjects", "read_hint", "write_hint"]

_NAME = re.compile(r"(\d{20})\.json")


class NumberedObjects:
    """The objects ``{prefix}/{n:020d}.json`` for n = 1, 2, ... in one store."""

    def __init__(self, store: ObjectStore, prefix: str, hint_key: str) -> None:
        self.store = store
        self.prefix = prefix
        self.hint_key = hint_key

    def key(self, number: int) -> str:
        """The key of object ``number``."""
        return f"{self.prefix}/{number:020d}.json"

    def read(self, number: int) -> Any:
        """Return object ``number`` parsed as JSON.

        Raises
        ------
        ObjectNotFound
            If there is no such object.
        CorruptObject
            If it cannot be read or is not JSON; the error names the key.
        """
        key = self.key(number)
        try:
            raw = self.store.read(key)
        except ObjectNotFound:
            raise
        except StorageError as exc:
            raise CorruptObject(key, reason=f"not a readable object ({exc.message})") from exc
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptObject(key, reason=f"not valid JSON ({exc})") from exc

    def create(self, number: int, value: Any) -> None:
        """Create object ``number``; raises ``AlreadyExists`` if another writer has, and
        ``CorruptObject`` (writing nothing) if ``number`` is a gap below existing objects."""
        self.check_end(number - 1)
        self.store.put_if_absent(self.key(number), canonical_json(value))

    def check_end(self, number: int) -> None:
        """Raise ``CorruptObject`` if ``number + 1`` is missing while ``number + 2`` exists: a
        gap, which must never be filled with something new (readers who saw the objects after
        it would disagree with those who see the filler)."""
        # In this order: object n + 2 is only ever created once n + 1 exists, so n + 1
        # missing *after* n + 2 was seen is a gap, not a race with other writers.
        if self.store.exists(self.key(number + 2)) and not self.store.exists(self.key(number + 1)):
            raise CorruptObject(
                self.key(number + 1),
                reason=f"object {number + 2} exists after it, so the sequence has a gap",
                missing=True,
            )

    def write_hint(self, number: int) -> None:
        """Record the highest number. Best effort: a stale hint only costs a few probes."""
        write_hint(self.store, self.hint_key, number)

    def latest(self, known: int = 0) -> int:
        """Return the highest number, starting from a number ``known`` to exist (0: none).

        Starting afresh (from the hint), a gap just after the end found is ``CorruptObject``: a
        stale hint must not hide the objects beyond a missing one.
        """
        number = known if known > 0 else self._from_hint()
        while self.store.exists(self.key(number + 1)):
            number += 1
        if known <= 0:
            self.check_end(number)
        return number

    def _from_hint(self) -> int:
        hinted = read_hint(self.store, self.hint_key)
        if hinted is not None and (hinted == 0 or self.store.exists(self.key(hinted))):
            return hinted
        return self._from_listing()

    def _from_listing(self) -> int:
        found: set[int] = set()
        for key in self.store.list(self.prefix):
            match = _NAME.fullmatch(key[len(self.prefix) + 1 :])
            if match is None:
                warnings.warn(f"Ignoring foreign object {key!r}", stacklevel=4)
                continue
            found.add(int(match.group(1)))
        latest = max(found, default=0)
        # A listing is not one instant: what it missed may have been created meanwhile.
        missing = sorted(set(range(1, latest + 1)) - found)
        if gaps := [n for n in missing if not self.store.exists(self.key(n))]:
            raise CorruptObject(
                self.key(gaps[0]),
                reason=f"object {latest} exists after it, so the sequence has a gap",
                missing=True,
            )
        return latest


def read_hint(store: ObjectStore, key: str) -> int | None:
    """The number hint object ``key`` names, or ``None`` if it is missing or unreadable."""
    try:
        hinted = json.loads(store.read(key))["latest"]
    except (StorageError, ValueError, KeyError, TypeError):
        return None
    return hinted if type(hinted) is int and hinted >= 0 else None


def write_hint(store: ObjectStore, key: str, number: int) -> None:
    """Write hint object ``key`` naming ``number``. Best effort: readers verify hints."""
    with contextlib.suppress(StorageError):
        store.write(key, canonical_json({"latest": number}), durable=False)
