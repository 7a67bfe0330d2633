# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A walk over DuckDB's serialized SQL (``json_serialize_sql``): the one way Arco reads which
tables a query names, for dependency inference (ADR 0008) and asset tables (ADR 0024)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["walk_sql"]


def walk_sql(tree: Any, visit: Callable[[Mapping[str, Any]], None]) -> frozenset[str]:
    """Call ``visit`` on every node of ``tree``; return the names of the common table
    expressions it defines, lower-cased (they are not tables)."""
    ctes: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            visit(node)
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                ctes.update(str(e.get("key", "")).lower() for e in cte_map.get("map", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return frozenset(ctes)
