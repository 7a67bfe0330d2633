# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Partition definitions: static lists and daily or monthly time windows.

A definition knows its keys (``2024-01-31`` for days, ``2024-01`` for months, any name for
static lists), parses user ranges (``2024-01-01..2024-01-31``) into the keys they cover, and has
a spec string (``daily:2024-01-01``) that the catalog stores and ``%%asset --partitions`` takes.
Keys are valid storage key segments, so ``data/{asset}/{partition}/`` is always safe.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from arco_nb.core.errors import ConfigError

__all__ = [
    "DailyPartitions",
    "MonthlyPartitions",
    "Partitions",
    "StaticPartitions",
    "parse_partitions",
    "too_many",
]

_STATIC_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}")


class Partitions:
    """Base class of partition definitions."""

    def spec(self) -> str:
        """The definition as text, e.g. ``daily:2024-01-01``."""
        raise NotImplementedError

    def keys(self, *, today: dt.date | None = None) -> list[str]:
        """Every key, oldest first (time windows end at ``today``, UTC by default)."""
        raise NotImplementedError

    def check_key(self, key: str) -> str:
        """Return ``key`` if it is one of this definition's keys, else raise."""
        raise NotImplementedError

    def count(self, *, today: dt.date | None = None) -> int:
        """How many keys :meth:`keys` gives (without making them, for time windows)."""
        return len(self.keys(today=today))

    def _span(self, start: str, end: str, *, today: dt.date | None) -> int:
        """How many keys lie in ``start..end`` (both valid keys)."""
        return len(self._range(start, end, today=today))

    def _range(self, start: str, end: str, *, today: dt.date | None) -> list[str]:
        return [k for k in self.keys(today=today) if start <= k <= end]

    def has_key(self, key: str) -> bool:
        """Whether ``key`` is (exactly) one of this definition's keys."""
        try:
            return self.check_key(key) == key
        except ConfigError:
            return False

    def select(
        self, selection: str, *, today: dt.date | None = None, limit: int | None = None
    ) -> list[str]:
        """Keys named by ``selection``: one key, ``a..b`` (inclusive), or ``a,b,c``; more than
        ``limit`` of them is a :class:`ConfigError`."""
        chosen: list[str] = []
        for part in (p.strip() for p in selection.split(",")):
            if ".." in part:
                start, _, end = part.partition("..")
                start, end = self.check_key(start.strip()), self.check_key(end.strip())
                if start > end:
                    raise ConfigError(
                        f"Partition range {part!r} runs backwards", hint=f"Write {end}..{start}"
                    )
                if limit is not None:
                    too_many(len(chosen) + self._span(start, end, today=today), limit)
                chosen += self._range(start, end, today=today)
            elif part:
                chosen.append(self.check_key(part))
            else:
                raise ConfigError(f"Empty partition in {selection!r}")
        if limit is not None:
            too_many(len(chosen), limit)
        return sorted(set(chosen), key=chosen.index)

    def __str__(self) -> str:
        return self.spec()


@dataclass(frozen=True)
class StaticPartitions(Partitions):
    """A fixed list of keys, e.g. regions."""

    names: tuple[str, ...]

    def __init__(self, names: Sequence[str]) -> None:
        names = tuple(names)
        if not names:
            raise ConfigError("Static partitions need at least one name")
        for name in names:
            if not isinstance(name, str) or _STATIC_KEY.fullmatch(name) is None:
                raise ConfigError(
                    f"Invalid partition name {name!r}",
                    hint="Use letters, digits, _ . = -; start with a letter or digit",
                )
        if len(set(names)) != len(names):
            raise ConfigError("Static partition names must be unique")
        object.__setattr__(self, "names", names)

    def spec(self) -> str:
        return "static:" + ",".join(self.names)

    def keys(self, *, today: dt.date | None = None) -> list[str]:  # noqa: ARG002 - no clock
        return list(self.names)

    def check_key(self, key: str) -> str:
        if key not in self.names:
            raise ConfigError(
                f"Unknown partition {key!r}", hint="Partitions: " + ", ".join(self.names[:10])
            )
        return key

    def select(
        self, selection: str, *, today: dt.date | None = None, limit: int | None = None
    ) -> list[str]:
        if ".." in selection:
            raise ConfigError("Static partitions have no ranges", hint="List them: a,b,c")
        return super().select(selection, today=today, limit=limit)


def too_many(count: int, limit: int) -> None:
    """Refuse ``count`` keys in one plan when that is more than ``limit``."""
    if count > limit:
        raise ConfigError(
            f"{count:,} partitions are more than one plan may hold ({limit:,})",
            hint="Pick a range (partitions='2024-01-01..2024-01-31'), a later start, or "
            "raise ARCO_MAX_PARTITIONS",
        )


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"Invalid {what} {text!r}", hint="Write dates as YYYY-MM-DD") from None


@dataclass(frozen=True)
class DailyPartitions(Partitions):
    """One partition per UTC day from ``start`` (``YYYY-MM-DD``)."""

    start: dt.date

    def __init__(self, start: str | dt.date) -> None:
        value = start if isinstance(start, dt.date) else _date(start, "start date")
        object.__setattr__(self, "start", value)

    def spec(self) -> str:
        return f"daily:{self.start.isoformat()}"

    def keys(self, *, today: dt.date | None = None) -> list[str]:
        return self._days(self.start, _today(today))

    def count(self, *, today: dt.date | None = None) -> int:
        return max((_today(today) - self.start).days + 1, 0)

    def _span(self, start: str, end: str, *, today: dt.date | None) -> int:
        return max((min(_date(end, "day"), _today(today)) - _date(start, "day")).days + 1, 0)

    def _range(self, start: str, end: str, *, today: dt.date | None) -> list[str]:
        return self._days(_date(start, "day"), min(_date(end, "day"), _today(today)))

    @staticmethod
    def _days(first: dt.date, last: dt.date) -> list[str]:
        return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def check_key(self, key: str) -> str:
        day = _date(key, "day")
        if day < self.start:
            raise ConfigError(f"Day {key} is before the first partition {self.start}")
        return day.isoformat()


@dataclass(frozen=True)
class MonthlyPartitions(Partitions):
    """One partition per calendar month from ``start`` (``YYYY-MM`` or ``YYYY-MM-DD``)."""

    start: dt.date

    def __init__(self, start: str | dt.date) -> None:
        if isinstance(start, dt.date):
            value = start.replace(day=1)
        else:
            value = _date(start if len(start) > 7 else f"{start}-01", "start month").replace(day=1)
        object.__setattr__(self, "start", value)

    def spec(self) -> str:
        return f"monthly:{self.start.strftime('%Y-%m')}"

    def count(self, *, today: dt.date | None = None) -> int:
        end = _today(today)
        return max((end.year - self.start.year) * 12 + end.month - self.start.month + 1, 0)

    def keys(self, *, today: dt.date | None = None) -> list[str]:
        end = _today(today)
        keys = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (end.year, end.month):
            keys.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return keys

    def select(
        self, selection: str, *, today: dt.date | None = None, limit: int | None = None
    ) -> list[str]:
        """As for other definitions; days name their months, so one backfill range
        (``2024-01-30..2024-02-02``) covers daily and monthly assets alike."""
        days = re.sub(r"\b(\d{4}-\d{2})-\d{2}\b", r"\1", selection)
        return super().select(days, today=today, limit=limit)

    def check_key(self, key: str) -> str:
        if re.fullmatch(r"\d{4}-\d{2}", key) is None:
            raise ConfigError(f"Invalid month {key!r}", hint="Write months as YYYY-MM")
        month = _date(f"{key}-01", "month")
        if month < self.start:
            raise ConfigError(f"Month {key} is before the first partition {self.spec()[8:]}")
        return key


def parse_partitions(spec: str | Partitions | None) -> Partitions | None:
    """Parse ``daily:2024-01-01``, ``monthly:2024-01`` or ``static:a,b`` (``None``: none)."""
    if spec is None or isinstance(spec, Partitions):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(
            f"Partitions must be text or a Partitions object, not {type(spec).__name__}",
            hint='Write partitions="daily:2024-01-01" or partitions=StaticPartitions(["eu"])',
        )
    kind, sep, rest = spec.strip().partition(":")
    if not sep or not rest:
        raise ConfigError(
            f"Cannot read partitions {spec!r}",
            hint="Use daily:YYYY-MM-DD, monthly:YYYY-MM or static:a,b,c",
        )
    if kind == "daily":
        return DailyPartitions(rest)
    if kind == "monthly":
        return MonthlyPartitions(rest)
    if kind == "static":
        return StaticPartitions([n.strip() for n in rest.split(",")])
    raise ConfigError(f"Unknown partition kind {kind!r}", hint="Use daily:, monthly: or static:")
