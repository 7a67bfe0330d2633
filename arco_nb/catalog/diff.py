# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Differences between two catalog versions, exact enough to replay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from arco_nb.catalog.model import AssetDef, CatalogState, Namespace, Table

__all__ = ["CatalogDiff", "Change", "ChangeKind", "diff_states"]

ChangeKind = Literal["namespace", "table", "asset"]
_PARTS: tuple[ChangeKind, ...] = ("namespace", "table", "asset")


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

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.action]
        detail = f" ({', '.join(self.fields())})" if self.action == "changed" else ""
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
