# SPDX-License-Identifier: Apache-2.0 OR MIT
"""How commands print: rich tables for people, JSON (``--json``) or CSV for programs."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["cell", "print_rows", "to_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or Infinity
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """JSON for programs: datetimes as ISO 8601, dataclasses as objects."""
    return json.dumps(_plain(value), indent=2, default=str, allow_nan=False)


def cell(value: Any) -> str:
    """One value as a table cell shows it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


RICH_ROWS = 200  # beyond this, rich's layout costs seconds; aligned plain text does not


def _print_plain(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None,
    footer: str | None,
) -> None:
    """Aligned columns, for pipes and long listings."""
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    heads = [c.replace("_", " ") for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(heads)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    if footer:
        lines.append(footer)
    click.echo("\n".join(lines))


def print_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    fmt: str = "table",
    title: str | None = None,
    footer: str | None = None,
) -> None:
    """Print ``rows`` as a table (rich in a terminal), JSON or CSV."""
    if fmt == "json":
        click.echo(to_json(list(rows)))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[cell(r.get(c)) for c in columns] for r in rows])
        click.echo(buffer.getvalue(), nl=False)
        return
    if len(rows) > RICH_ROWS or not sys.stdout.isatty():
        _print_plain(rows, columns, title=title, footer=footer)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column.replace("_", " "), no_wrap=column.endswith("_id"))
    for row in rows:
        table.add_row(*(escape(cell(row.get(c))) for c in columns))  # "a[eu]" is not markup
    console = Console(file=sys.stdout, soft_wrap=False)
    console.print(table)
    if footer:
        console.print(escape(footer))
