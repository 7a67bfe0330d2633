# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Objects that display themselves: HTML in Jupyter, readable text everywhere else."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Message", "Section", "Table", "cell_text"]


def cell_text(value: Any) -> str:
    """One value as a table cell shows it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Table:
    """Rows under a header, with an optional title and footer line."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str = ""
    footer: str = ""

    def _cells(self) -> list[list[str]]:
        return [[cell_text(v) for v in row] for row in self.rows]

    def __repr__(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        if not self.rows:
            lines.append("(none)")
        if self.footer:
            lines.append(self.footer)
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self._cells()
        )
        if not self.rows:
            body = f'<tr><td colspan="{len(self.columns)}"><i>(none)</i></td></tr>'
        parts = [f"<b>{html.escape(self.title)}</b>"] if self.title else []
        parts.append(
            f'<table class="arco-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        )
        if self.footer:
            parts.append(f"<small>{html.escape(self.footer)}</small>")
        return "<div>" + "".join(parts) + "</div>"


@dataclass(frozen=True)
class Message:
    """A few lines of text (shown preformatted in HTML)."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


@dataclass(frozen=True)
class Section:
    """A heading line and parts (tables, messages) shown one after the other."""

    heading: str
    parts: Sequence[Table | Message] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return "\n\n".join([self.heading, *(repr(p) for p in self.parts)])

    def _repr_html_(self) -> str:
        inner = "".join(p._repr_html_() for p in self.parts)
        return f"<div><p>{html.escape(self.heading)}</p>{inner}</div>"
