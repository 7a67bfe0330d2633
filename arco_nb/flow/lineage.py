# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Lineage views for people and renderers: public frozen dataclasses, no internals.

:class:`AssetInfo` and :class:`LineageEdge` are what the catalog widget, the graphviz renderer
and the CLI consume; they hold plain values only, so they serialise to JSON as they are.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from arco_nb.catalog.vocabulary import NEVER_RUN, asset_word, plural
from arco_nb.flow.graph import AssetGraph

if TYPE_CHECKING:
    from arco_nb.flow.assets import AssetSpec
    from arco_nb.flow.status import AssetStatus

__all__ = [
    "NO_DOT",
    "AssetInfo",
    "LineageEdge",
    "LineageGraph",
    "asset_infos",
    "build_lineage",
    "to_dot",
]


@dataclass(frozen=True)
class AssetInfo:
    """One asset as lineage shows it, with its latest recorded state."""

    name: str
    kind: str
    status: str  # latest task status (raw), or "never run"; people read asset_word() of it
    rows: int | None = None
    last_materialized: dt.datetime | None = None
    materialization_id: str | None = None
    last_run_id: str | None = None
    tags: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    partitions: str = ""  # the definition, e.g. "daily:2024-01-01"
    partitions_materialized: int = 0
    description: str = ""


@dataclass(frozen=True)
class LineageEdge:
    """``upstream`` feeds ``downstream``; ids name the exact materializations, when recorded."""

    upstream: str
    downstream: str
    materialization_id: str | None = None
    input_materialization_id: str | None = None


@dataclass(frozen=True)
class LineageGraph:
    """The neighbourhood of ``focus``: ``up`` hops upstream and ``down`` hops downstream."""

    focus: str
    up: int
    down: int
    nodes: tuple[AssetInfo, ...]
    edges: tuple[LineageEdge, ...]

    def node(self, name: str) -> AssetInfo:
        """The node named ``name``."""
        return next(n for n in self.nodes if n.name == name)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able data (times as ISO 8601)."""

        def clean(value: Any) -> Any:
            return value.isoformat() if isinstance(value, dt.datetime) else value

        return {
            "focus": self.focus,
            "up": self.up,
            "down": self.down,
            "nodes": [{k: clean(v) for k, v in asdict(n).items()} for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
        }

    def to_text(self) -> str:
        """An indented tree: upstream above the focus, downstream below."""
        parents: dict[str, list[str]] = {}
        children: dict[str, list[str]] = {}
        for e in self.edges:
            parents.setdefault(e.downstream, []).append(e.upstream)
            children.setdefault(e.upstream, []).append(e.downstream)

        def label(name: str) -> str:
            n = self.node(name)
            rows = f", {plural(n.rows, 'row')}" if n.rows is not None else ""
            return f"{name} [{_word(n)}{rows}]"

        lines: list[str] = []

        def walk(name: str, links: dict[str, list[str]], arrow: str, depth: int) -> None:
            for other in sorted(links.get(name, [])):
                lines.append(f"{'    ' * depth}{arrow} {label(other)}")
                walk(other, links, arrow, depth + 1)

        walk(self.focus, parents, "<-", 1)
        up_lines = list(reversed(lines))
        lines.clear()
        walk(self.focus, children, "->", 1)
        return "\n".join([*up_lines, f"* {label(self.focus)}", *lines])

    def __str__(self) -> str:
        return self.to_text()


def build_lineage(
    graph: AssetGraph,
    focus: str,
    *,
    up: int = 1,
    down: int = 1,
    statuses: Mapping[str, AssetStatus] | None = None,
    inputs: Mapping[tuple[str, str], str] | None = None,
) -> LineageGraph:
    """Assemble the lineage around ``focus``.

    ``statuses`` is the :class:`~arco_nb.flow.status.StatusIndex`'s view of each asset;
    ``inputs`` maps (materialization id, input asset) -> input materialization id.
    """
    statuses = statuses or {}
    inputs = inputs or {}
    names = {focus} | graph.upstream(focus, up) | graph.downstream(focus, down)
    nodes = [_info(graph.specs[name], statuses) for name in sorted(names)]
    edges = []
    for name in sorted(names):
        latest = statuses[name].latest if name in statuses else None
        mid = latest.materialization_id if latest else None
        for dep in graph.specs[name].deps:
            if dep in names:
                edges.append(LineageEdge(dep, name, mid, inputs.get((mid, dep)) if mid else None))
    return LineageGraph(focus, up, down, tuple(nodes), tuple(edges))


def asset_infos(
    specs: Mapping[str, AssetSpec], statuses: Mapping[str, AssetStatus]
) -> list[AssetInfo]:
    """Every asset of ``specs``, by name, with what ``statuses`` says of it."""
    return [_info(specs[name], statuses) for name in sorted(specs)]


def _info(spec: AssetSpec, statuses: Mapping[str, AssetStatus]) -> AssetInfo:
    name = spec.name
    known = statuses.get(name)
    latest = known.latest if known else None
    return AssetInfo(
        name=name,
        kind=spec.kind,
        status=known.status if known and known.status else NEVER_RUN,
        rows=known.rows if known and latest else None,
        last_materialized=latest.at if latest else None,
        materialization_id=latest.materialization_id if latest else None,
        last_run_id=(known.run_id if known else "") or (latest.run_id if latest else None),
        tags=spec.tags,
        deps=spec.deps,
        partitions=spec.partitions,
        partitions_materialized=known.partitions if known and spec.partitions else 0,
        description=spec.description,
    )


NO_DOT = (
    "Graphviz's `dot` program is not installed, so lineage is shown as text; "
    "install it with `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz`."
)
# Keyed by the raw status: colours may tell apart what the words merge ("materialized").
COLOURS = {
    "succeeded": "#c8e6c9",
    "up_to_date": "#e8f5e9",
    "failed": "#ffcdd2",
    "skipped": "#ffe0b2",
    "running": "#fff9c4",
    "pending": "#fff9c4",
    NEVER_RUN: "#eeeeee",
}


def _word(node: AssetInfo) -> str:
    """The asset's status as people read it (:mod:`arco_nb.catalog.vocabulary`)."""
    return asset_word(node.status, materialized=node.last_materialized is not None)


def _label(node: AssetInfo) -> str:
    lines = [f"<b>{html.escape(node.name)}</b>"]
    facts = [node.kind]
    if node.rows is not None:
        facts.append(plural(node.rows, "row"))
    lines.append(" · ".join(facts))
    if node.partitions:
        materialized = plural(node.partitions_materialized, "partition")
        lines.append(f"{materialized} ({html.escape(node.partitions)})")
    lines.append(html.escape(_word(node)))
    if node.last_materialized is not None:
        lines.append(node.last_materialized.strftime("%Y-%m-%d %H:%M UTC"))
    head, rest = lines[0], "<br/>".join(lines[1:])
    return f'<{head}<br/><font point-size="9">{rest}</font>>'  # a graphviz HTML-like label


def to_dot(graph: LineageGraph) -> str:
    """The graph in graphviz's DOT language: left to right, nodes coloured by last status,
    the focus outlined in bold. (Rendering it needs graphviz, which only the notebook and the
    command line import.)"""
    out = [
        "digraph lineage {",
        '  rankdir=LR; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [color="#607d8b"];',
    ]
    for node in graph.nodes:
        colour = COLOURS.get(node.status, "#eeeeee")
        focus = ', penwidth=3, color="#1565c0"' if node.name == graph.focus else ""
        tip = f"run {node.last_run_id}" if node.last_run_id else "never run"
        out.append(
            f'  "{node.name}" [label={_label(node)}, fillcolor="{colour}", tooltip="{tip}"{focus}];'
        )
    out += [f'  "{e.upstream}" -> "{e.downstream}";' for e in graph.edges]
    out.append("}")
    return "\n".join(out)
