# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tier 1 catalog objects and the immutable state they form at one catalog version.

These are the catalog's own records: frozen dataclasses with a JSON form (``to_json`` /
``from_json``) that the commit log stores and the snapshot Parquet files mirror. A
:class:`CatalogState` is one version's complete content; operations
(:mod:`arco_nb.catalog.operations`) turn one state into the next.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from arco_nb.core.errors import InvalidName

__all__ = [
    "AssetDef",
    "CatalogState",
    "Column",
    "Namespace",
    "Overlay",
    "Table",
    "check_name",
    "split_table_name",
    "tables_in",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
NAME_RULE = "names start with a letter or _, then letters, digits or _, at most 128 characters"


def check_name(name: object, *, kind: str) -> str:
    """Return ``name`` if it is a valid identifier for a namespace, table, column or asset."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidName(str(name), kind=kind, rule=NAME_RULE)
    return name


def split_table_name(identifier: str) -> tuple[str, str]:
    """Split ``"namespace.table"`` into its parts, checking both."""
    if not isinstance(identifier, str) or identifier.count(".") != 1:
        raise InvalidName(
            str(identifier), kind="table", rule="write tables as namespace.table, e.g. sales.orders"
        )
    namespace, table = identifier.split(".")
    return check_name(namespace, kind="namespace"), check_name(table, kind="table")


def _time(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Namespace:
    """A namespace (schema) that groups tables."""

    name: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description}


@dataclass(frozen=True)
class Column:
    """One column of a table: ``type`` is the Arrow type as text (``"int64"``, ``"string"``)."""

    name: str
    type: str
    nullable: bool = True
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "nullable": self.nullable,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Column:
        return cls(
            name=data["name"],
            type=data["type"],
            nullable=bool(data.get("nullable", True)),
            description=data.get("description", ""),
        )


@dataclass(frozen=True)
class Table:
    """A table registered in the catalog."""

    namespace: str
    name: str
    columns: tuple[Column, ...] = ()
    location: str = ""
    format: str = "parquet"
    description: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    updated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def full_name(self) -> str:
        """``namespace.name``."""
        return f"{self.namespace}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "columns": [c.to_json() for c in self.columns],
            "location": self.location,
            "format": self.format,
            "description": self.description,
            "tags": list(self.tags),
            "owner": self.owner,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Table:
        return cls(
            namespace=data["namespace"],
            name=data["name"],
            columns=tuple(Column.from_json(c) for c in data.get("columns", ())),
            location=data.get("location", ""),
            format=data.get("format", "parquet"),
            description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
            owner=data.get("owner", ""),
            created_at=_time(data["created_at"]),
            updated_at=_time(data["updated_at"]),
        )


@dataclass(frozen=True)
class AssetDef:
    """An asset definition as the catalog stores it (the flow layer owns the behaviour)."""

    name: str
    kind: str
    code: str = ""
    code_version: str = ""
    deps: tuple[str, ...] = ()
    partitions: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "code": self.code,
            "code_version": self.code_version,
            "deps": list(self.deps),
            "partitions": self.partitions,
            "description": self.description,
            "tags": list(self.tags),
        }
        if self.retries:  # written only when set: records stay as they were without it
            found["retries"] = self.retries
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssetDef:
        return cls(
            name=data["name"],
            kind=data["kind"],
            code=data.get("code", ""),
            code_version=data.get("code_version", ""),
            deps=tuple(data.get("deps", ())),
            partitions=data.get("partitions", ""),
            description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
            retries=data.get("retries", 0),
        )


@dataclass(frozen=True)
class CatalogState:
    """Everything in the catalog at one version. Immutable; operations return new states."""

    version: int = 0
    namespaces: Mapping[str, Namespace] = field(default_factory=dict)
    tables: Mapping[str, Table] = field(default_factory=dict)
    assets: Mapping[str, AssetDef] = field(default_factory=dict)

    def evolve(
        self,
        *,
        version: int | None = None,
        namespaces: Mapping[str, Namespace] | None = None,
        tables: Mapping[str, Table] | None = None,
        assets: Mapping[str, AssetDef] | None = None,
    ) -> CatalogState:
        """Return a copy with some parts replaced."""
        return replace(
            self,
            version=self.version if version is None else version,
            namespaces=self.namespaces if namespaces is None else namespaces,
            tables=self.tables if tables is None else tables,
            assets=self.assets if assets is None else assets,
        )

    def content(self) -> dict[str, Any]:
        """The state as plain JSON-able data, without the version (for equality and hashing)."""
        return {
            "namespaces": {k: v.to_json() for k, v in sorted(self.namespaces.items())},
            "tables": {k: v.to_json() for k, v in sorted(self.tables.items())},
            "assets": {k: v.to_json() for k, v in sorted(self.assets.items())},
        }

    def same_content(self, other: CatalogState) -> bool:
        """Tell whether two states hold the same objects, whatever their versions."""
        return self.content() == other.content()

    def tables_in(self, namespace: str) -> list[str]:
        """Full names of the tables in ``namespace``, sorted."""
        return tables_in(self.tables, namespace)


_FLATTEN = 256


class Overlay(MutableMapping[str, Table]):
    """Tables as ``base`` plus the changes made on top, so that copying a state's tables for a
    commit costs O(changes since ``base`` was loaded), not O(catalog), and a lazily loaded
    snapshot (``base``) builds no table it is not asked for."""

    def __init__(self, base: Mapping[str, Table]) -> None:
        self._base: Mapping[str, Table] = base
        self._changed: dict[str, Table] = {}
        self._removed: set[str] = set()
        if isinstance(base, Overlay):
            if len(base._changed) + len(base._removed) > _FLATTEN:
                # Many changes on top: fold them into a new base once, so that the copies
                # of the next commits stay small.
                self._base = dict(base.items())
            else:
                self._base = base._base
                self._changed = dict(base._changed)
                self._removed = set(base._removed)

    def __getitem__(self, key: str) -> Table:
        if key in self._changed:
            return self._changed[key]
        if key in self._removed:
            raise KeyError(key)
        return self._base[key]

    def __setitem__(self, key: str, value: Table) -> None:
        self._changed[key] = value
        self._removed.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._changed.pop(key, None)
        if key in self._base:
            self._removed.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._changed or (key not in self._removed and key in self._base)

    def __iter__(self) -> Iterator[str]:
        for key in self._base:
            if key not in self._removed and key not in self._changed:
                yield key
        yield from self._changed

    def __len__(self) -> int:
        added = sum(1 for k in self._changed if k not in self._base)
        return len(self._base) - len(self._removed) + added


def tables_in(tables: Mapping[str, Table], namespace: str) -> list[str]:
    """Full names of the ``tables`` in ``namespace``, sorted."""
    # From the keys (``namespace.name``) alone: a lazily loaded snapshot builds no table here.
    return sorted(k for k in tables if k.partition(".")[0] == namespace)


def sorted_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as stored: unique and sorted, so equal sets compare equal."""
    return tuple(sorted(set(tags)))
