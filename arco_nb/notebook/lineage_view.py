# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Lineage as a graphviz SVG: nodes coloured by last status, with rows and last run time.

Without the ``dot`` program the view says, in one line, how to install it and shows a text tree.
"""

from __future__ import annotations

import html
import shutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arco_nb.flow.lineage import AssetInfo, LineageGraph

__all__ = ["NO_DOT", "LineageView", "to_dot"]

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
    """The graph in DOT: left to right, the focus outlined in bold."""
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


def dot_available() -> bool:
    return shutil.which("dot") is not None


class LineageView:
    """Displays a :class:`~arco_nb.flow.lineage.LineageGraph` (SVG, or text without ``dot``)."""

    def __init__(self, graph: LineageGraph) -> None:
        self.graph = graph

    def svg(self) -> str | None:
        """The SVG, or ``None`` without the ``dot`` program."""
        if not dot_available():
            return None
        import graphviz

        return str(graphviz.Source(to_dot(self.graph)).pipe(format="svg", encoding="utf-8"))

    def _repr_mimebundle_(
        self,
        include: Any = None,  # noqa: ARG002 - IPython's API
        exclude: Any = None,  # noqa: ARG002
    ) -> dict[str, str]:
        svg = self.svg()
        if svg is None:
            return {"text/plain": f"{NO_DOT}\n{self.graph.to_text()}"}
        return {"image/svg+xml": svg, "text/plain": self.graph.to_text()}

    def __repr__(self) -> str:
        return self.graph.to_text()
