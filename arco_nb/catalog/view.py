# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Read-only access to one catalog state (the latest, or any version through ``as_of``)."""

from __future__ import annotations

import difflib

from arco_nb.catalog.model import AssetDef, CatalogState, Namespace, Table, check_name
from arco_nb.core.errors import AssetNotFound, NamespaceNotFound, TableNotFound

__all__ = ["CatalogView"]


class CatalogView:
    """Lookups over a catalog state. :class:`~arco_nb.catalog.catalog.Catalog` refreshes it
    to the latest version before each read; ``as_of`` views stay at their version."""

    def __init__(self, state: CatalogState) -> None:
        self._state = state

    def _refresh(self) -> CatalogState:
        return self._state

    @property
    def state(self) -> CatalogState:
        """The state this view reads."""
        return self._refresh()

    @property
    def version(self) -> int:
        """The catalog version this view shows."""
        return self._refresh().version

    def list_namespaces(self) -> list[str]:
        """Namespace names, sorted."""
        return sorted(self._refresh().namespaces)

    def load_namespace(self, name: str) -> Namespace:
        """Return a namespace, or raise :class:`NamespaceNotFound`."""
        found = self._refresh().namespaces.get(name)
        if found is None:
            raise NamespaceNotFound(name)
        return found

    def list_tables(self, namespace: str | None = None) -> list[str]:
        """Full names (``namespace.table``) of all tables, or of one namespace's, sorted."""
        state = self._refresh()
        if namespace is None:
            return sorted(state.tables)
        if namespace not in state.namespaces:
            raise NamespaceNotFound(namespace)
        return state.tables_in(namespace)

    def load_table(self, identifier: str) -> Table:
        """Return the table ``namespace.name``, or raise :class:`TableNotFound`."""
        state = self._refresh()
        found = state.tables.get(identifier) if isinstance(identifier, str) else None
        if found is None:
            close = (
                difflib.get_close_matches(identifier, list(state.tables), n=3)
                if isinstance(identifier, str)
                else []
            )
            raise TableNotFound(str(identifier), suggestions=close)
        return found

    def table_exists(self, identifier: str) -> bool:
        """Tell whether the table exists."""
        return identifier in self._refresh().tables

    def list_assets(self) -> list[str]:
        """Asset names, sorted."""
        return sorted(self._refresh().assets)

    def load_asset(self, name: str) -> AssetDef:
        """Return an asset definition, or raise :class:`AssetNotFound` with close matches."""
        state = self._refresh()
        check_name(name, kind="asset")
        found = state.assets.get(name)
        if found is None:
            close = difflib.get_close_matches(name, list(state.assets), n=3)
            raise AssetNotFound(name, suggestions=close)
        return found

    def __repr__(self) -> str:
        return f"CatalogView(version={self._state.version})"
