# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Which names are asset tables in ``Workspace.sql``, and which data files each one reads.

An asset's table reads what ``Workspace.read`` reads (:func:`arco_nb.flow.status.readable`):
its newest materialization, or that of each partition of its current definition. The
definition comes from the workspace's registry, else from the catalog, so the command line
(which does not compile definitions) sees the same rows as a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from arco_nb.catalog.asset_sql import AssetTable

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.flow.assets import AssetSpec, Registry
    from arco_nb.flow.status import LatestMaterialization

__all__ = ["WorkspaceAssets"]

Latest = Mapping[tuple[str, str], "LatestMaterialization"]


class WorkspaceAssets:
    """The :class:`~arco_nb.catalog.asset_sql.AssetSource` of one workspace.

    Parameters
    ----------
    latest
        The newest materialization of every (asset, partition), as the status index keeps it.
    registry, catalog
        Where definitions come from: the registry first, then the catalog's records.
    """

    def __init__(self, latest: Callable[[], Latest], registry: Registry, catalog: Catalog) -> None:
        self._latest = latest
        self._registry = registry
        self._catalog = catalog
        self._index: tuple[tuple[int, int, int], dict[str, list[str]]] | None = None

    def names(self) -> list[str]:
        """Every asset name: defined here, recorded in the catalog, or materialized."""
        index = self._names(self._latest())
        return sorted(name for names in index.values() for name in names)

    def tables(self, names: Collection[str] | None) -> dict[str, AssetTable]:
        """The asset tables among ``names`` (lower-cased), by lower-cased name; ``None``: all.

        SQL compares names without case: a name two assets share but for case is an error
        when queried (read them with ``ws.read``).
        """
        from arco_nb.core.errors import ArcoError, QueryError
        from arco_nb.flow.materialize import data_key
        from arco_nb.flow.status import readable

        latest = self._latest()
        index = self._names(latest)
        found: dict[str, AssetTable] = {}
        for lower in index if names is None else names:
            candidates = index.get(lower)
            if not candidates:
                continue
            name = candidates[0]
            if len(candidates) > 1:
                found[lower] = AssetTable(
                    name,
                    error=QueryError(
                        f"Assets {', '.join(map(repr, candidates))} differ only in case, "
                        "and SQL names ignore case",
                        hint=f"Read them with ws.read({name!r}); or rename one",
                    ),
                )
                continue
            try:
                parts = readable(latest, name, self._spec(name), None)
            except ArcoError as exc:
                found[lower] = AssetTable(name, error=QueryError(exc.message, hint=exc.hint))
                continue
            found[lower] = AssetTable(
                name,
                tuple((key, data_key(name, key, mid)) for key, mid in parts),
                partitioned=any(key for key, _ in parts),
            )
        return found

    def _spec(self, name: str) -> AssetSpec | None:
        from arco_nb.flow.assets import listed_spec

        if name in self._registry:
            return self._registry.get(name)
        record = self._catalog.state.assets.get(name)
        return None if record is None else listed_spec(record)

    def _names(self, latest: Latest) -> dict[str, list[str]]:
        """Asset names by lower-cased name, rebuilt only when definitions or the set of
        materialized (asset, partition)s changed (that set only grows)."""
        state = self._catalog.state
        stamp = (self._registry.version, state.version, len(latest))
        if self._index is not None and self._index[0] == stamp:
            return self._index[1]
        every = {spec.name for spec in self._registry} | set(state.assets)
        every.update(asset for asset, _ in latest)
        index: dict[str, list[str]] = {}
        for name in sorted(every):
            index.setdefault(name.lower(), []).append(name)
        self._index = (stamp, index)
        return index
