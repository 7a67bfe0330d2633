# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Lineage as a graphviz SVG: nodes coloured by last status, with rows and last run time.

Without the ``dot`` program the view says, in one line, how to install it and shows a text tree.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from arco_nb.flow.lineage import NO_DOT, to_dot

if TYPE_CHECKING:
    from arco_nb.flow.lineage import LineageGraph

__all__ = ["LineageView", "dot_available"]


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
