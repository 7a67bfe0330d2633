# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Compaction manifests: which Parquet parts hold the event log's compacted facts.

Layout (DESIGN §2)::

    events/inbox/{date}/{object}.json                 immutable, one event or a batch
    events/compacted/{table}/part-{seq}-{id}.parquet  written by compaction
    events/compacted/_manifests/{seq:020d}.json       put-if-absent; names the live parts
    events/compacted/_inbox/{date}/{object}.json      compacted inbox objects, until collected
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco_nb.catalog.events import EVENT_SCHEMA_VERSION
from arco_nb.core.errors import CorruptObject

__all__ = [
    "COMPACTED",
    "HELD",
    "INBOX",
    "MANIFESTS",
    "MANIFEST_HINT",
    "Manifest",
    "PartInfo",
    "held_key",
]

INBOX = "events/inbox"
COMPACTED = "events/compacted"
MANIFESTS = f"{COMPACTED}/_manifests"
MANIFEST_HINT = f"{COMPACTED}/_last_manifest.json"
# Where compaction moves the inbox objects it compacted, out of every reader's listing; they
# stay there for the grace period, for `doctor --repair` (ADR 0021).
HELD = f"{COMPACTED}/_inbox"


def held_key(inbox_key: str) -> str:
    """Where compaction keeps the inbox object ``inbox_key`` once it is compacted."""
    return HELD + inbox_key.removeprefix(INBOX)


_ROUND = re.compile(r"part-(\d{20})-")


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class PartInfo:
    """Where a compacted part stands: its merge level, and the compaction rounds whose inbox
    objects it holds (``first`` to ``last``)."""

    level: int
    first: int
    last: int


@dataclass(frozen=True)
class Manifest:
    """What compaction has committed: the live parts, and the inbox objects they cover."""

    seq: int = 0
    created_at: dt.datetime | None = None
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # inbox key -> when it was compacted (the object is then moved to its held key); dropped
    # once the grace period has passed and garbage collection deleted it
    compacted: Mapping[str, dt.datetime] = field(default_factory=dict)
    # live part -> its level and rounds; parts written before merging existed have none
    info: Mapping[str, PartInfo] = field(default_factory=dict)
    # part merged into a bigger one -> when; deleted once the grace period has passed
    retired: Mapping[str, dt.datetime] = field(default_factory=dict)
    # the latest index of what the parts hold (catalog/latest.py); "" until one is written
    latest: str = ""

    def part_info(self, key: str) -> PartInfo:
        """The level and rounds of live part ``key`` (level 0 of its own round by default)."""
        found = self.info.get(key)
        if found is not None:
            return found
        match = _ROUND.search(key.rsplit("/", 1)[-1])
        seq = int(match.group(1)) if match else self.seq
        return PartInfo(0, seq, seq)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": EVENT_SCHEMA_VERSION,
            "seq": self.seq,
            "created_at": _iso(self.created_at or dt.datetime.now(dt.UTC)),
            "parts": {k: list(v) for k, v in sorted(self.parts.items())},
            "compacted": {k: _iso(v) for k, v in sorted(self.compacted.items())},
            "part_info": {
                k: {"level": v.level, "rounds": [v.first, v.last]}
                for k, v in sorted(self.info.items())
            },
            "retired": {k: _iso(v) for k, v in sorted(self.retired.items())},
            **({"latest": self.latest} if self.latest else {}),
        }

    @classmethod
    def from_json(cls, data: Any, *, key: str) -> Manifest:
        if not isinstance(data, dict) or data.get("schema_version") != EVENT_SCHEMA_VERSION:
            raise CorruptObject(key, reason="not a compaction manifest this Arco reads")
        try:
            return cls(
                seq=int(data["seq"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                parts={str(k): tuple(map(str, v)) for k, v in data["parts"].items()},
                compacted={
                    str(k): dt.datetime.fromisoformat(v) for k, v in data["compacted"].items()
                },
                info={
                    str(k): PartInfo(int(v["level"]), int(v["rounds"][0]), int(v["rounds"][1]))
                    for k, v in data.get("part_info", {}).items()
                },
                retired={
                    str(k): dt.datetime.fromisoformat(v) for k, v in data.get("retired", {}).items()
                },
                latest=str(data.get("latest") or ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CorruptObject(key, reason=f"malformed manifest ({exc!r})") from exc
