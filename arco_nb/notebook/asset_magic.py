# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``%%asset NAME``: define an asset from a cell, materialize it, show a preview."""

from __future__ import annotations

import html
import re
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from arco_nb.catalog.vocabulary import plural, state_word
from arco_nb.notebook.arguments import argument, magic_arguments, parse_argstring
from arco_nb.notebook.display import Table

if TYPE_CHECKING:
    import pyarrow as pa

    from arco_nb.flow.execute import RunResult
    from arco_nb.flow.plan import Plan
    from arco_nb.notebook.session import Session
    from arco_nb.workspace import Workspace

__all__ = ["AssetPreview", "asset_cell"]


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


# IPython's own variables: the output history (_, __, _i3, _5, ...) and its bookkeeping.
_IPYTHON_NAME = re.compile(r"_+|_i+|_i?\d+|_(ih|oh|dh)")


def _check_free(session: Session, name: str) -> None:
    """Refuse a name whose variable would hide a Python built-in or one of IPython's own: the
    cell binds its data to it, and ``print`` or ``get_ipython`` must keep working."""
    import builtins
    import keyword

    hidden = session.shell.user_ns_hidden
    if name in hidden or name.startswith("__") or _IPYTHON_NAME.fullmatch(name):
        what = f"IPython's {name!r}"
    elif hasattr(builtins, name) or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        what = f"Python's built-in {name!r}"
    else:
        return
    raise UsageError(
        f"An asset cannot be named {name!r}: its data would be bound to that name and hide "
        f"{what} in this notebook. Pick another name, such as {name.strip('_')}_data"
    )


@magic_arguments()
@argument("name", help="The asset's name (also the variable its data is bound to).")
@argument("--deps", help="Upstream assets, comma-separated (default: inferred from the code).")
@argument("--sql", action="store_true", help="The cell is DuckDB SQL.")
@argument("--python", action="store_true", help="The cell is Python.")
@argument("--partitions", help="daily:YYYY-MM-DD, monthly:YYYY-MM or static:a,b,c.")
@argument("--description", default="", help="What the asset holds.")
@argument("--tags", help="Tags, comma-separated.")
@argument("--retries", type=int, default=0, help="Attempts after a failure.")
@argument("--no-run", action="store_true", help="Define it only; do not materialize.")
def asset_cell(session: Session, line: str, cell: str) -> AssetPreview | Table:
    """Define the asset in the cell and, unless ``--no-run``, materialize it (and any upstream
    assets that are missing or stale)."""
    from arco_nb.flow.cells import cell_asset

    args = parse_argstring(asset_cell, line)
    if args.sql and args.python:
        raise UsageError("Pass --sql or --python, not both")
    _check_free(session, args.name)
    ws = session.workspace
    known = {spec.name for spec in ws.registry} | set(ws.catalog.state.assets)
    spec = cell_asset(
        args.name,
        cell,
        kind="sql" if args.sql else "python" if args.python else None,
        deps=_names(args.deps),
        known=known,
        namespace=session.shell.user_ns,
        partitions=args.partitions,
        description=args.description or "",
        tags=_names(args.tags) or (),
        retries=args.retries,
        registry=ws.registry,
    )
    if args.no_run:
        ws.define(spec)
        session.defined(spec.name)
        session.changed()
        deps = ", ".join(spec.deps) or "none"
        return Table(
            ["asset", "kind", "deps", "partitions"],
            [[spec.name, spec.kind, deps, spec.partitions]],
            title=f"Defined {spec.name}; not run (--no-run).",
        )
    started = time.perf_counter()
    plan = ws.plan(f"+{spec.name}")
    result = None
    if plan.to_run:  # an unchanged cell records no run at all
        # The run's own catalog commit records the definition with the table it made.
        result = session.run(plan=plan.pruned())
        if result.status != "succeeded":
            ws.define(spec)  # known to the catalog even when it failed
            session.changed()
        raise_if_failed(result)
        plan = result.plan
    else:
        ws.define(spec)  # e.g. a new description: no run, but a new definition
    elapsed = time.perf_counter() - started
    data = _data(ws, spec.name, plan, result)
    import polars as pl

    session.shell.user_ns[spec.name] = pl.from_arrow(data)
    session.defined(spec.name)
    session.changed()
    return AssetPreview.build(
        spec.name,
        plan,
        result.run_id if result else "",
        data,
        elapsed=elapsed,
        preview_rows=session.settings.preview_rows,
    )


def _data(ws: Workspace, name: str, plan: Plan, result: RunResult | None) -> pa.Table:
    """The asset's data, from the materializations the plan and run name (no log scan)."""
    from arco_nb.flow.materialize import read_data

    parts = []
    for task in plan.tasks:
        if task.asset == name:
            state = result.state.tasks.get(task.key) if result else None
            mid = (state.materialization_id if state else "") or task.previous
            if not mid:
                return ws.read(name)
            parts.append((task.partition, mid))
    return read_data(ws.store, name, parts, cache=ws._tables) if parts else ws.read(name)


def raise_if_failed(result: RunResult) -> None:
    """Show each failed task's own traceback, then one line saying what happened."""
    bad = [t for t in result.state.tasks.values() if t.status in {"failed", "skipped"}]
    if result.status == "succeeded" and not any(t.status == "skipped" for t in bad):
        return
    by_error: dict[str, list[str]] = {}
    for task in bad:
        if task.status == "failed":
            label = f"{task.asset}[{task.partition}]" if task.partition else task.asset
            by_error.setdefault(task.error, []).append(f"{label} (attempt {task.attempt})")
    for error, labels in by_error.items():  # one traceback per distinct error, not per partition
        more = f" and {len(labels) - 1} more with the same error" if len(labels) > 1 else ""
        print(f"{labels[0]}{more} failed:\n{error}\n", file=sys.stderr)
    failed = sorted({t.asset for t in bad if t.status == "failed"})
    skipped = sorted({t.asset for t in bad if t.status == "skipped"})
    what = f"{', '.join(failed)} failed" if failed else "nothing failed"
    if skipped:
        what += f"; skipped: {', '.join(skipped)}"
        reasons = {t.error for t in bad if t.status == "skipped" and t.error}
        if not failed and reasons:
            what += f" ({sorted(reasons)[0]})"
    raise UsageError(
        f"Run {result.run_id} {state_word(result.status)}: {what}. Fix the cell and run it again; "
        "everything materialized before is kept."
    )


@dataclass(frozen=True)
class AssetPreview:
    """What a ``%%asset`` cell shows: status, schema, first rows."""

    name: str
    run_id: str
    headline: str
    up_to_date: tuple[str, ...]
    schema: Table
    head: Table
    rows: int

    @classmethod
    def build(
        cls,
        name: str,
        plan: Plan,
        run_id: str,
        data: pa.Table,
        *,
        elapsed: float,
        preview_rows: int,
    ) -> AssetPreview:
        """The preview of ``name`` after ``plan`` ran as ``run_id`` (``""``: nothing ran)."""
        tasks = [t for t in plan.tasks if t.asset == name]
        ran = [t for t in tasks if t.will_run]
        where = plural(len(tasks), "partition") if tasks and tasks[0].partition else ""
        rows = plural(data.num_rows, "row")
        if ran:
            done = f"materialized {len(ran)} of {where}" if where else "materialized"
            headline = f"{name}: {done}, {rows} in {elapsed * 1000:.0f} ms"
        else:
            headline = f"{name} is up to date: skipped, {rows}"
        up_to_date = tuple(
            sorted({t.asset for t in plan.tasks if not t.will_run and t.asset != name})
        )
        schema = Table(
            ["column", "type"], [[f.name, str(f.type)] for f in data.schema], title="Schema"
        )
        head = data.slice(0, preview_rows).to_pylist()
        first = Table(
            data.column_names,
            [[row[c] for c in data.column_names] for row in head],
            title=f"First {len(head)} of {plural(data.num_rows, 'row')}",
        )
        return cls(name, run_id, headline, up_to_date, schema, first, data.num_rows)

    def _lines(self) -> list[str]:
        lines = [f"{self.headline} (run {self.run_id})" if self.run_id else self.headline]
        if self.up_to_date:
            lines.append("Up to date, skipped: " + ", ".join(self.up_to_date))
        return lines

    def __repr__(self) -> str:
        return "\n".join([*self._lines(), "", repr(self.schema), "", repr(self.head)])

    def _repr_html_(self) -> str:
        lines = "<br/>".join(html.escape(line) for line in self._lines())
        return (
            f'<div class="arco-asset"><p>{lines}</p>'
            f'<div style="display:flex;gap:2em;align-items:flex-start">'
            f"{self.schema._repr_html_()}{self.head._repr_html_()}</div></div>"
        )
