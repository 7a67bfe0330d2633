# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Differences between two catalog versions, exact enough to replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from arco_nb.catalog.model import AssetDef, CatalogState, Column, Namespace, Table

__all__ = [
    "CatalogDiff",
    "Change",
    "ChangeKind",
    "ColumnChange",
    "ColumnChangeKind",
    "column_changes",
    "diff_states",
]

ChangeKind = Literal["namespace", "table", "asset"]
_PARTS: tuple[ChangeKind, ...] = ("namespace", "table", "asset")
ColumnChangeKind = Literal["added", "removed", "type changed", "nullability changed"]


@dataclass(frozen=True)
class ColumnChange:
    """One column's change between two schemas: ``before``/``after`` are the types (or
    ``nullable``/``not null`` for a change of nullability)."""

    kind: ColumnChangeKind
    column: str
    before: str = ""
    after: str = ""

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+{self.column} {self.after}"
        if self.kind == "removed":
            return f"-{self.column} {self.before}"
        return f"{self.column} {self.before} -> {self.after}"


def column_changes(before: Sequence[Column], after: Sequence[Column]) -> list[ColumnChange]:
    """How a schema changed, column by column, in the new schema's order (removed ones last):
    added, removed, type changed, nullability changed. A column's description is not part of
    its schema."""
    old = {c.name: c for c in before}
    found: list[ColumnChange] = []
    for col in after:
        was = old.get(col.name)
        if was is None:
            found.append(ColumnChange("added", col.name, after=col.type))
            continue
        if was.type != col.type:
            found.append(ColumnChange("type changed", col.name, was.type, col.type))
        if was.nullable != col.nullable:
            found.append(ColumnChange("nullability changed", col.name, _null(was), _null(col)))
    names = {c.name for c in after}
    found += [ColumnChange("removed", c.name, before=c.type) for c in before if c.name not in names]
    return found


def _null(column: Column) -> str:
    return "nullable" if column.nullable else "not null"


@dataclass(frozen=True)
class Change:
    """One object added, removed or changed between two versions."""

    kind: ChangeKind
    name: str
    before: Namespace | Table | AssetDef | None
    after: Namespace | Table | AssetDef | None

    @property
    def action(self) -> str:
        """``"added"``, ``"removed"`` or ``"changed"``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"

    def fields(self) -> list[str]:
        """For a change, the names of the fields that differ."""
        if self.before is None or self.after is None:
            return []
        old, new = self.before.to_json(), self.after.to_json()
        return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))

    def columns(self) -> list[ColumnChange]:
        """For a changed table, how its columns changed (added, removed, type, nullability)."""
        if isinstance(self.before, Table) and isinstance(self.after, Table):
            return column_changes(self.before.columns, self.after.columns)
        return []

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.action]
        detail = ""
        if self.action == "changed":
            # The columns themselves, where they changed more than their descriptions.
            columns = ", ".join(map(str, self.columns()))
            parts = [
                f"columns: {columns}" if name == "columns" and columns else name
                for name in self.fields()
            ]
            detail = f" ({('; ' if columns else ', ').join(parts)})"
        return f"{sign} {self.kind} {self.name}{detail}"


@dataclass(frozen=True)
class CatalogDiff:
    """The changes that turn the catalog at ``from_version`` into the one at ``to_version``."""

    from_version: int
    to_version: int
    changes: tuple[Change, ...]

    def apply(self, state: CatalogState) -> CatalogState:
        """Return ``state`` with these changes applied, at ``to_version``."""
        parts: dict[ChangeKind, dict[str, Any]] = {
            "namespace": dict(state.namespaces),
            "table": dict(state.tables),
            "asset": dict(state.assets),
        }
        for change in self.changes:
            if change.after is None:
                parts[change.kind].pop(change.name, None)
            else:
                parts[change.kind][change.name] = change.after
        return CatalogState(
            version=self.to_version,
            namespaces=parts["namespace"],
            tables=parts["table"],
            assets=parts["asset"],
        )

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __str__(self) -> str:
        head = f"catalog v{self.from_version} -> v{self.to_version}"
        if not self.changes:
            return f"{head}: no changes"
        return "\n".join([f"{head}:", *(f"  {c}" for c in self.changes)])


def diff_states(old: CatalogState, new: CatalogState) -> CatalogDiff:
    """Compute the :class:`CatalogDiff` from ``old`` to ``new``."""
    changes: list[Change] = []
    pairs: dict[ChangeKind, tuple[Mapping[str, Any], Mapping[str, Any]]] = {
        "namespace": (old.namespaces, new.namespaces),
        "table": (old.tables, new.tables),
        "asset": (old.assets, new.assets),
    }
    for kind in _PARTS:
        before, after = pairs[kind]
        for name in sorted(before.keys() | after.keys()):
            a, b = before.get(name), after.get(name)
            if a != b:
                changes.append(Change(kind, name, a, b))
    return CatalogDiff(old.version, new.version, tuple(changes))
