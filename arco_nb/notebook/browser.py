# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The catalog browser: search, a list of assets and tables, and tabs for the selected one."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as widgets

from arco_nb.catalog.vocabulary import asset_word, plural, state_word
from arco_nb.flow.lineage import AssetInfo
from arco_nb.notebook.display import Table, cell_text

if TYPE_CHECKING:
    from arco_nb.workspace import Workspace

__all__ = ["CatalogBrowser"]

TABS = ("Schema", "Preview", "Runs", "Lineage")


class CatalogBrowser(widgets.VBox):  # type: ignore[misc]
    """Browse one workspace's assets and tables.

    ``search`` filters the list (by name, kind, tag or status); selecting an entry fills the
    tabs. :meth:`refresh` reloads everything (a notebook session calls it after each run).
    """

    def __init__(self, workspace: Workspace, *, search: str = "", preview_rows: int = 10) -> None:
        self.workspace = workspace
        self.preview_rows = preview_rows
        self.items: list[AssetInfo] = []
        self.search = widgets.Text(value=search, placeholder="Search assets and tables")
        self.listing = widgets.Select(options=[], rows=14, layout=widgets.Layout(width="420px"))
        self.summary = widgets.HTML()
        self.panes = {title: widgets.HTML() for title in TABS}
        self.tabs = widgets.Tab(children=list(self.panes.values()))
        self.tabs.titles = TABS
        super().__init__(
            [self.search, self.summary, widgets.HBox([self.listing, self.tabs])],
        )
        self.search.observe(lambda _: self._filter(), "value")
        self.listing.observe(lambda _: self._show(), "value")
        self.refresh()

    # -- state ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload assets and tables from the workspace."""
        assets = self.workspace.assets()
        names = {f"assets.{a.name}" for a in assets}
        state = self.workspace.catalog.state
        tables = [
            AssetInfo(name=full, kind="table", status="", description=t.description, tags=t.tags)
            for full, t in sorted(state.tables.items())
            if full not in names
        ]
        self.items = [*assets, *tables]
        self._filter()
        self._show()

    @property
    def visible(self) -> list[str]:
        """Names of the entries the search lets through, in list order."""
        return [value for _, value in self.listing.options]

    def _filter(self) -> None:
        words = self.search.value.lower().split()
        shown = [i for i in self.items if all(w in _haystack(i) for w in words)]
        selected = self.listing.value
        self.listing.options = [(_entry(i), i.name) for i in shown]
        if selected in self.visible:
            self.listing.value = selected
        kinds = {"table": 0, "asset": 0}
        for item in self.items:
            kinds["table" if item.kind == "table" else "asset"] += 1
        self.summary.value = (
            f"<small>{len(shown)} of {plural(kinds['asset'], 'asset')} and "
            f"{plural(kinds['table'], 'table')} shown</small>"
        )

    def _show(self) -> None:
        item = next((i for i in self.items if i.name == self.listing.value), None)
        if item is None:
            for pane in self.panes.values():
                pane.value = "<i>Select an asset or table.</i>"
            return
        from arco_nb.core.errors import ArcoError

        for title, render in (
            ("Schema", self._schema),
            ("Preview", self._preview),
            ("Runs", self._runs),
            ("Lineage", self._lineage),
        ):
            try:
                self.panes[title].value = render(item)
            except ArcoError as exc:  # one pane that cannot show must not break the others
                self.panes[title].value = f"<i>{html.escape(str(exc))}</i>"

    # -- tabs -------------------------------------------------------------------------------------
    def _schema(self, item: AssetInfo) -> str:
        full = item.name if item.kind == "table" else f"assets.{item.name}"
        table = self.workspace.catalog.state.tables.get(full)
        about = f"<p>{html.escape(item.description)}</p>" if item.description else ""
        if table is None:
            return about + "<i>No schema yet: the asset has not been materialized.</i>"
        rows = [[c.name, c.type, "yes" if c.nullable else "no"] for c in table.columns]
        return about + Table(["column", "type", "nullable"], rows)._repr_html_()

    def _preview(self, item: AssetInfo) -> str:
        if item.kind == "table" or item.materialization_id is None:
            return "<i>No data materialized by Arco.</i>"
        data = self.workspace.read(item.name)
        head = data.slice(0, self.preview_rows).to_pylist()
        rows = [[r[c] for c in data.column_names] for r in head]
        title = f"First {len(rows)} of {plural(data.num_rows, 'row')}"
        return Table(data.column_names, rows, title=title)._repr_html_()

    def _runs(self, item: AssetInfo) -> str:
        if item.kind == "table":
            return "<i>Tables registered directly have no runs.</i>"
        rows = [
            [t.run_id, t.partition, state_word(t.status), t.attempt, t.started_at, t.finished_at]
            for t in self.workspace.tasks(asset=item.name, limit=20)
        ]
        columns = ["run", "partition", "status", "attempt", "started", "finished"]
        return Table(columns, rows)._repr_html_()

    def _lineage(self, item: AssetInfo) -> str:
        if item.kind == "table":
            return "<i>Lineage is recorded for assets.</i>"
        from arco_nb.flow.lineage import NO_DOT
        from arco_nb.notebook.lineage_view import LineageView

        view = LineageView(self.workspace.lineage(item.name, up=2, down=2))
        svg = view.svg()
        if svg is None:
            return f"<p>{html.escape(NO_DOT)}</p><pre>{html.escape(repr(view))}</pre>"
        return svg

    def __repr__(self) -> str:
        entries = plural(len(self.items), "entry")
        return f"CatalogBrowser({entries}, selected={self.listing.value!r})"


def _status(item: AssetInfo) -> str:
    """The status word the list shows (a table registered directly has none)."""
    if item.kind == "table":
        return ""
    return asset_word(item.status, materialized=item.last_materialized is not None)


def _haystack(item: AssetInfo) -> str:
    # The word the list shows, so a search finds what the user reads.
    return " ".join([item.name, item.kind, _status(item), *item.tags]).lower()


def _entry(item: AssetInfo) -> str:
    if item.kind == "table":
        return f"{item.name}  ·  table"
    parts = [item.name, item.kind]
    if item.rows is not None:
        parts.append(plural(item.rows, "row"))
    parts.append(_status(item))
    if item.last_materialized is not None:
        parts.append(cell_text(item.last_materialized))
    return "  ·  ".join(parts)
