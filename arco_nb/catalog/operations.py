# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Typed catalog operations: the only way a catalog state changes.

Each operation names the catalog objects it touches (:meth:`Operation.targets`), which is how a
commit that lost a race decides whether it may re-apply itself on top of the winner (no shared
targets) or must raise :class:`~arco_nb.core.errors.CommitConflict`. Operations serialise to
JSON (``{"op": "create_table", ...}``) and are stored in the commit log, so any version can be
rebuilt by replaying them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from arco_nb.catalog.model import (
    AssetDef,
    CatalogState,
    Column,
    Namespace,
    Overlay,
    Table,
    check_name,
    sorted_tags,
    split_table_name,
    tables_in,
)
from arco_nb.core.errors import (
    AssetNotFound,
    CatalogError,
    CorruptObject,
    NamespaceNotFound,
    TableNotFound,
)

__all__ = [
    "AlterTable",
    "CreateNamespace",
    "CreateTable",
    "DefineAsset",
    "Draft",
    "DropAsset",
    "DropNamespace",
    "DropTable",
    "Operation",
    "apply_all",
    "dependents",
    "operation_from_json",
]


@dataclass
class Draft:
    """Mutable copy of a state that a commit's operations change in place (copied once)."""

    namespaces: dict[str, Namespace]
    tables: MutableMapping[str, Table]
    assets: dict[str, AssetDef]

    def tables_in(self, namespace: str) -> list[str]:
        return tables_in(self.tables, namespace)


class Operation:
    """Base class of catalog operations."""

    op: ClassVar[str]

    def targets(self) -> tuple[str, ...]:
        """The catalog objects this operation changes, as ``kind:name`` strings."""
        raise NotImplementedError

    def reads(self) -> tuple[str, ...]:
        """Objects this operation depends on without changing them."""
        return ()

    def satisfied_by(self, state: CatalogState) -> bool:
        """Tell whether ``state`` already holds what this operation would make (another writer
        committed the same change), so that committing it again would change nothing."""
        raise NotImplementedError

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        """Change ``state`` in place, or raise a :class:`CatalogError` leaving it unchanged."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class CreateNamespace(Operation):
    """Create the namespace ``name``."""

    name: str
    description: str = ""
    op: ClassVar[str] = "create_namespace"

    def targets(self) -> tuple[str, ...]:
        return (f"namespace:{self.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        return state.namespaces.get(self.name) == Namespace(self.name, self.description)

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        check_name(self.name, kind="namespace")
        _text(self.description, "Namespace description")
        if self.name in state.namespaces:
            raise CatalogError(
                f"Namespace {self.name!r} already exists",
                hint="Use it as it is, or drop it first",
            )
        state.namespaces[self.name] = Namespace(self.name, self.description)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name, "description": self.description}


@dataclass(frozen=True)
class DropNamespace(Operation):
    """Drop the namespace ``name``, which must hold no table."""

    name: str
    op: ClassVar[str] = "drop_namespace"

    def targets(self) -> tuple[str, ...]:
        return (f"namespace:{self.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        return self.name not in state.namespaces

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        if self.name not in state.namespaces:
            raise NamespaceNotFound(self.name)
        if inside := state.tables_in(self.name):
            raise CatalogError(
                f"Namespace {self.name!r} still holds {len(inside)} table(s)",
                hint=f"Drop them first: {', '.join(inside[:5])}",
            )
        del state.namespaces[self.name]

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name}


@dataclass(frozen=True)
class CreateTable(Operation):
    """Create ``table`` in its namespace, which must exist."""

    table: Table
    op: ClassVar[str] = "create_table"

    def targets(self) -> tuple[str, ...]:
        return (f"table:{self.table.full_name}",)

    def reads(self) -> tuple[str, ...]:
        # A concurrent drop of the namespace must conflict; creating a sibling must not.
        return (f"namespace:{self.table.namespace}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        current = state.tables.get(self.table.full_name)
        return current is not None and _timeless(current) == _timeless(self.table)

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        split_table_name(self.table.full_name)
        if self.table.namespace not in state.namespaces:
            raise NamespaceNotFound(self.table.namespace)
        if self.table.full_name in state.tables:
            raise CatalogError(
                f"Table {self.table.full_name!r} already exists",
                hint="Alter it with alter_table(), or drop it first",
            )
        _check_columns(self.table.columns, self.table.full_name)
        _check_table(self.table)
        table = Table(**{**_fields(self.table), "created_at": now, "updated_at": now})
        state.tables[table.full_name] = table

    def to_json(self) -> dict[str, Any]:
        data = self.table.to_json()
        del data["created_at"], data["updated_at"]  # set by the commit that applies it
        return {"op": self.op, "table": data}


@dataclass(frozen=True)
class AlterTable(Operation):
    """Change a table's columns, description, tags, location or owner (``None``: unchanged)."""

    name: str
    columns: tuple[Column, ...] | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    location: str | None = None
    owner: str | None = None
    op: ClassVar[str] = "alter_table"

    def targets(self) -> tuple[str, ...]:
        return (f"table:{self.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        current = state.tables.get(self.name)
        if current is None:
            return False
        wanted = {a: getattr(self, a) for a in ("columns", "description", "location", "owner")}
        wanted["tags"] = None if self.tags is None else sorted_tags(self.tags)
        return all(v is None or getattr(current, a) == v for a, v in wanted.items())

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        current = state.tables.get(self.name)
        if current is None:
            raise TableNotFound(self.name, suggestions=_close(self.name, state.tables))
        changes: dict[str, Any] = {"updated_at": now}
        if self.columns is not None:
            _check_columns(self.columns, self.name)
            changes["columns"] = self.columns
        for attr in ("description", "location", "owner"):
            if getattr(self, attr) is not None:
                changes[attr] = getattr(self, attr)
        if self.tags is not None:
            changes["tags"] = sorted_tags(self.tags)
        table = Table(**{**_fields(current), **changes})
        _check_table(table)
        state.tables[self.name] = table

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.op, "name": self.name}
        if self.columns is not None:
            data["columns"] = [c.to_json() for c in self.columns]
        for attr in ("description", "location", "owner"):
            if getattr(self, attr) is not None:
                data[attr] = getattr(self, attr)
        if self.tags is not None:
            data["tags"] = list(self.tags)
        return data


@dataclass(frozen=True)
class DropTable(Operation):
    """Drop the table ``name`` (``namespace.table``)."""

    name: str
    op: ClassVar[str] = "drop_table"

    def targets(self) -> tuple[str, ...]:
        return (f"table:{self.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        return self.name not in state.tables

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        if self.name not in state.tables:
            raise TableNotFound(self.name, suggestions=_close(self.name, state.tables))
        del state.tables[self.name]

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name}


@dataclass(frozen=True)
class DefineAsset(Operation):
    """Create an asset definition or replace the existing one of that name."""

    asset: AssetDef
    op: ClassVar[str] = "define_asset"

    def targets(self) -> tuple[str, ...]:
        return (f"asset:{self.asset.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        return state.assets.get(self.asset.name) == self.asset

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        _check_asset(self.asset)
        state.assets[self.asset.name] = self.asset

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "asset": self.asset.to_json()}


@dataclass(frozen=True)
class DropAsset(Operation):
    """Drop the definition of the asset ``name``."""

    name: str
    op: ClassVar[str] = "drop_asset"

    def targets(self) -> tuple[str, ...]:
        return (f"asset:{self.name}",)

    def satisfied_by(self, state: CatalogState) -> bool:
        return self.name not in state.assets

    def _apply(self, state: Draft, now: dt.datetime) -> None:
        if self.name not in state.assets:
            raise AssetNotFound(self.name, suggestions=_close(self.name, state.assets))
        if users := dependents(state.assets, self.name, transitive=False):
            raise CatalogError(
                f"Asset {self.name!r} is an input of {', '.join(users)}",
                hint="Drop or redefine those first, or drop them all with "
                f"drop_asset({self.name!r}, cascade=True)",
            )
        del state.assets[self.name]

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name}


def dependents(assets: Mapping[str, AssetDef], name: str, *, transitive: bool) -> list[str]:
    """The assets that read ``name`` (``transitive``: and those that read them, and so on, in
    an order that drops each before anything it reads). SQL names match whatever their case."""

    def readers(of: str) -> list[str]:
        return sorted(a for a, r in assets.items() if of.lower() in {d.lower() for d in r.deps})

    found = [a for a in readers(name) if a != name]
    if not transitive:
        return found
    wanted, closure = list(found), set(found)
    while wanted:
        for reader in readers(wanted.pop()):
            if reader not in closure and reader != name:
                closure.add(reader)
                wanted.append(reader)
    ordered: list[str] = []
    while closure:  # those no remaining asset reads go first
        free = sorted(a for a in closure if not set(readers(a)) & closure)
        ordered += free or sorted(closure)  # a cycle (never committed) cannot stall this
        closure -= set(free or closure)
    return ordered


def apply_all(
    state: CatalogState, operations: Sequence[Operation], now: dt.datetime
) -> CatalogState:
    """Apply ``operations`` in order; all or nothing (the input state is never changed).

    The returned state keeps the input's version; the commit sets the new one.
    """
    # Tables are overlaid, not copied: a commit costs O(its changes) on a 100k-table catalog.
    draft = Draft(dict(state.namespaces), Overlay(state.tables), dict(state.assets))
    for operation in operations:
        operation._apply(draft, now)
    return CatalogState(state.version, draft.namespaces, draft.tables, draft.assets)


def operation_from_json(data: Mapping[str, Any], *, source: str = "operation") -> Operation:
    """Rebuild an operation from its JSON form; ``source`` names the object it came from."""
    try:
        kind = data["op"]
        if kind == "create_namespace":
            return CreateNamespace(data["name"], data.get("description", ""))
        if kind == "drop_namespace":
            return DropNamespace(data["name"])
        if kind == "create_table":
            epoch = "1970-01-01T00:00:00Z"
            table = {"created_at": epoch, "updated_at": epoch, **data["table"]}
            return CreateTable(Table.from_json(table))
        if kind == "alter_table":
            columns = data.get("columns")
            tags = data.get("tags")
            return AlterTable(
                data["name"],
                columns=None if columns is None else tuple(Column.from_json(c) for c in columns),
                description=data.get("description"),
                tags=None if tags is None else tuple(tags),
                location=data.get("location"),
                owner=data.get("owner"),
            )
        if kind == "drop_table":
            return DropTable(data["name"])
        if kind == "define_asset":
            return DefineAsset(AssetDef.from_json(data["asset"]))
        if kind == "drop_asset":
            return DropAsset(data["name"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptObject(source, reason=f"malformed operation ({exc!r})") from exc
    raise CorruptObject(source, reason=f"unknown operation {data.get('op')!r}")


def _timeless(table: Table) -> dict[str, Any]:
    """What a table holds, without when it was created or changed."""
    found = table.to_json()
    del found["created_at"], found["updated_at"]
    found["tags"] = list(sorted_tags(table.tags))
    return found


def _fields(table: Table) -> dict[str, Any]:
    return {name: getattr(table, name) for name in table.__dataclass_fields__}


def _check_columns(columns: Sequence[Column], table: str) -> None:
    seen: set[str] = set()
    for column in columns:
        if not isinstance(column, Column):
            raise CatalogError(f"Columns of {table!r} must be Column objects, not {column!r}")
        check_name(column.name, kind="column")
        _text(column.type, f"Type of column {column.name!r}")
        _text(column.description, f"Description of column {column.name!r}")
        if not isinstance(column.nullable, bool):
            raise CatalogError(f"nullable of column {column.name!r} must be True or False")
        if column.name in seen:
            raise CatalogError(
                f"Column {column.name!r} appears twice in {table!r}",
                hint="Column names must be unique",
            )
        seen.add(column.name)


def _close(name: object, names: Mapping[str, Any]) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, list(names), n=3) if isinstance(name, str) else []


def _text(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise CatalogError(f"{what} must be text, not {type(value).__name__}")


def _texts(value: object, what: str) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{what} must be a tuple of text, not {value!r}")


def _check_asset(asset: AssetDef) -> None:
    check_name(asset.name, kind="asset")
    for attr in ("kind", "code", "code_version", "partitions", "description"):
        _text(getattr(asset, attr), f"Asset {attr}")
    _texts(asset.deps, "Asset deps")
    _texts(asset.tags, "Asset tags")
    if type(asset.retries) is not int or asset.retries < 0:
        raise CatalogError(
            f"Asset retries must be a whole number >= 0, not {asset.retries!r}",
            hint="Fix the definition",
        )


def _check_table(table: Table) -> None:
    for attr in ("location", "format", "description", "owner"):
        _text(getattr(table, attr), f"Table {attr}")
    _texts(table.tags, "Table tags")
