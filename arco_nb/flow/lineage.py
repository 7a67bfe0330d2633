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
from typing import TYPE_CHECKING, Any, Protocol

from arco_nb.flow.graph import AssetGraph

if TYPE_CHECKING:
    from arco_nb.catalog.eventlog import EventLog
    from arco_nb.flow.assets import AssetSpec

__all__ = [
    "NO_DOT",
    "AssetInfo",
    "LineageEdge",
    "LineageGraph",
    "asset_info",
    "build_lineage",
    "latest_by_asset",
    "to_dot",
]


@dataclass(frozen=True)
class AssetInfo:
    """One asset as lineage shows it, with its latest recorded state."""

    name: str
    kind: str
    status: str  # latest task status, or "never run"
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
            rows = f", {n.rows} row{'' if n.rows == 1 else 's'}" if n.rows is not None else ""
            return f"{name} [{n.status.replace('_', ' ')}{rows}]"

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


class _HasSpecs(Protocol):
    specs: Mapping[str, AssetSpec]


def build_lineage(
    graph: AssetGraph,
    focus: str,
    *,
    up: int = 1,
    down: int = 1,
    status: Mapping[str, tuple[str, str]] | None = None,
    materializations: Mapping[str, tuple[str, int, dt.datetime, str]] | None = None,
    inputs: Mapping[tuple[str, str], str] | None = None,
    partition_counts: Mapping[str, int] | None = None,
) -> LineageGraph:
    """Assemble the lineage around ``focus``.

    ``status`` maps asset -> (latest task status, run id); ``materializations`` maps asset ->
    (materialization id, rows, time, run id) of the latest one; ``inputs`` maps
    (materialization id, input asset) -> input materialization id; ``partition_counts`` maps
    asset -> how many partitions are materialized.
    """
    materializations = materializations or {}
    inputs = inputs or {}
    names = {focus} | graph.upstream(focus, up) | graph.downstream(focus, down)
    nodes = [
        asset_info(graph, name, status, materializations, partition_counts)
        for name in sorted(names)
    ]
    edges = []
    for name in sorted(names):
        mat = materializations.get(name)
        for dep in graph.specs[name].deps:
            if dep in names:
                mid = mat[0] if mat else None
                edges.append(LineageEdge(dep, name, mid, inputs.get((mid, dep)) if mid else None))
    return LineageGraph(focus, up, down, tuple(nodes), tuple(edges))


def asset_info(
    graph: AssetGraph | _HasSpecs,
    name: str,
    status: Mapping[str, tuple[str, str]] | None,
    materializations: Mapping[str, tuple[str, int, dt.datetime, str]] | None,
    partition_counts: Mapping[str, int] | None = None,
) -> AssetInfo:
    """One asset's :class:`AssetInfo` from the same mappings :func:`build_lineage` takes."""
    spec = graph.specs[name]
    mat = (materializations or {}).get(name)
    state, run_id = (status or {}).get(name, ("never run", ""))
    return AssetInfo(
        name=name,
        kind=spec.kind,
        status=state,
        rows=mat[1] if mat else None,
        last_materialized=mat[2] if mat else None,
        materialization_id=mat[0] if mat else None,
        last_run_id=run_id or (mat[3] if mat else None),
        tags=spec.tags,
        deps=spec.deps,
        partitions=spec.partitions,
        partitions_materialized=(partition_counts or {}).get(name, 0) if spec.partitions else 0,
        description=spec.description,
    )


NO_DOT = (
    "Graphviz's `dot` program is not installed, so lineage is shown as text; "
    "install it with `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz`."
)
COLOURS = {
    "succeeded": "#c8e6c9",
    "up_to_date": "#e8f5e9",
    "failed": "#ffcdd2",
    "skipped": "#ffe0b2",
    "running": "#fff9c4",
    "pending": "#fff9c4",
    "never run": "#eeeeee",
}


def _label(node: AssetInfo) -> str:
    lines = [f"<b>{html.escape(node.name)}</b>"]
    facts = [node.kind]
    if node.rows is not None:
        facts.append(f"{node.rows:,} rows")
    lines.append(" · ".join(facts))
    if node.partitions:
        lines.append(f"{node.partitions_materialized} partitions ({html.escape(node.partitions)})")
    lines.append(node.status.replace("_", " "))
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


def latest_by_asset(
    events: EventLog,
) -> tuple[
    dict[str, tuple[str, str]],
    dict[str, tuple[str, int, dt.datetime, str]],
    dict[str, int],
]:
    """What :func:`asset_info` needs from the event log: each asset's latest task status and
    run, its latest materialization (rows added up over partitions), and how many partitions
    are materialized."""
    # Plain loops over two fact tables: no SQL engine and no Arrow compute kernels to load,
    # so `arco assets` and the browser start fast (100k events take ~50 ms).
    terminal = {"succeeded", "failed", "skipped", "up_to_date"}
    t = events.read_columns("task_transitions", ["asset", "at", "status", "run_id"])
    newest: dict[str, tuple[dt.datetime, str, str]] = {}
    for asset, at, state, run in zip(*t.to_pydict().values(), strict=True):
        if state in terminal and (asset not in newest or newest[asset][:2] <= (at, run)):
            newest[asset] = (at, run, state)
    status = {asset: (state, run) for asset, (_, run, state) in newest.items()}
    m = events.read_columns(
        "materializations", ["asset", "partition", "at", "materialization_id", "rows", "run_id"]
    )
    latest: dict[tuple[str, str], tuple[dt.datetime, str, int, str]] = {}
    for asset, key, at, mid, rows, run in zip(*m.to_pydict().values(), strict=True):
        if (asset, key) not in latest or latest[(asset, key)][:2] < (at, mid):
            latest[(asset, key)] = (at, mid, rows or 0, run)
    mats: dict[str, tuple[str, int, dt.datetime, str]] = {}
    counts: dict[str, int] = {}
    # Rows: the latest materialization of each partition, added up.
    for (asset, _), (at, mid, rows, run) in latest.items():
        before = mats.get(asset)
        total = (before[1] if before else 0) + rows
        if before is None or (at, mid) > (before[2], before[0]):
            mats[asset] = (mid, total, at, run)
        else:
            mats[asset] = (before[0], total, before[2], before[3])
        counts[asset] = counts.get(asset, 0) + 1
    return status, mats, counts
