# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Commands that show what is there: assets, plan, explain, runs, show, catalog, history, sql,
lineage."""

from __future__ import annotations

from pathlib import Path

import click

from arco_nb.catalog.events import RUN_STATES, RunStatus
from arco_nb.catalog.vocabulary import asset_word, plural, state_word
from arco_nb.cli.context import CliError, Settings, pass_settings
from arco_nb.cli.output import print_rows, to_json
from arco_nb.flow.lineage import NO_DOT, to_dot

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _fmt(as_json: bool) -> str:
    return "json" if as_json else "table"


@click.command()
@click.option("--tag", help="Only assets with this tag.")
@json_option
@pass_settings
def assets(settings: Settings, tag: str | None, as_json: bool) -> None:
    """Defined assets with their status, rows and latest materialization."""
    ws = settings.open(restore=False)  # the catalog's own records: no graph to build
    infos = [i for i in ws.assets(catalog_only=True) if tag is None or tag in i.tags]
    rows = [
        {
            "asset": i.name,
            "kind": i.kind,
            "deps": list(i.deps),
            "partitions": i.partitions,
            # Programs keep the raw task status; people read the asset's word for it.
            "status": i.status
            if as_json
            else asset_word(i.status, materialized=i.last_materialized is not None),
            "rows": i.rows,
            "last_materialized": i.last_materialized,
            "last_run_id": i.last_run_id,
        }
        for i in infos
    ]
    columns = ["asset", "kind", "deps", "partitions", "status", "rows", "last_materialized"]
    footer = None if as_json else plural(len(rows), "asset")
    print_rows(rows, columns, fmt=_fmt(as_json), footer=footer)


@click.command()
@click.argument("selection", required=False)
@click.option("--partitions", help="Keys or a range: 2024-01-01..2024-01-31.")
@click.option("--force", is_flag=True, help="Plan every selected task.")
@json_option
@pass_settings
def plan(
    settings: Settings,
    selection: str | None,
    partitions: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """What a run would do, task by task, and why (SELECTION: name, +name, tag:x, a,b)."""
    made = settings.open().plan(selection, partitions=partitions, force=force)
    if as_json:
        click.echo(to_json({**made.to_json(), "plan_id": made.plan_id}))
    else:
        click.echo(made.explain())


@click.command()
@click.argument("asset")
@click.option("--partitions", help="Keys or a range: 2024-01-01..2024-01-31.")
@json_option
@pass_settings
def explain(settings: Settings, asset: str, partitions: str | None, as_json: bool) -> None:
    """Why ASSET would run, or be skipped as up to date."""
    ws = settings.open()
    if as_json:
        made = ws.plan(asset, partitions=partitions)
        tasks = [t.to_json() | {"explanation": t.explain()} for t in made.tasks if t.asset == asset]
        click.echo(to_json(tasks))
    else:
        click.echo(ws.explain(asset, partitions=partitions))


@click.command()
@click.option("--asset", help="Only runs with a task for this asset.")
@click.option(
    "--status",
    type=click.Choice(RUN_STATES),
    help="Only runs in this state.",
)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@json_option
@pass_settings
def runs(
    settings: Settings,
    asset: str | None,
    status: RunStatus | None,
    limit: int,
    as_json: bool,
) -> None:
    """Recent runs, newest first."""
    ws = settings.open()
    found = ws.runs(asset=asset, status=status, limit=limit)
    if asset is not None and not found:
        ws.registry.get(asset)  # an unknown name fails with close matches
    columns = ["run_id", "status", "queued_at", "materialized", "up_to_date", "failed"]
    rows = [vars(r) | {"failed": list(r.failed)} for r in found]
    if not as_json:
        rows = [r | {"status": state_word(r["status"])} for r in rows]
    print_rows(
        rows, columns, fmt=_fmt(as_json), footer=None if as_json else plural(len(found), "run")
    )


@click.command()
@click.argument("run_id")
@json_option
@pass_settings
def show(settings: Settings, run_id: str, as_json: bool) -> None:
    """One run: its tasks, their timings, and errors with the user's traceback."""
    ws = settings.open()
    tasks = ws.tasks(run_id)
    run = next((r for r in ws.runs() if r.run_id == run_id), None)
    if as_json:
        click.echo(to_json({"run": run, "tasks": tasks}))
        return
    if run is not None:
        shown = state_word(run.status)
        click.echo(f"Run {run.run_id}: {shown} (plan {run.plan_id}, {run.executor})")
    rows = [
        {
            "task": t.label,
            "status": state_word(t.status),
            "attempt": t.attempt,
            "seconds": round(t.seconds, 3) if t.seconds is not None else None,
            "started_at": t.started_at,
        }
        for t in tasks
    ]
    print_rows(rows, ["task", "status", "attempt", "seconds", "started_at"])
    for task in tasks:
        if task.error:
            click.echo(f"\n{task.label} {state_word(task.status)}:\n{task.error}")


@click.command()
@json_option
@pass_settings
def catalog(settings: Settings, as_json: bool) -> None:
    """Tables and their columns."""
    state = settings.open(restore=False).catalog.state
    rows = [
        {
            "table": full,
            "columns": [f"{c.name} {c.type}" for c in t.columns],
            "description": t.description,
            "tags": list(t.tags),
        }
        for full, t in sorted(state.tables.items())
    ]
    footer = f"{plural(len(rows), 'table')} (catalog version {state.version})"
    print_rows(
        rows,
        ["table", "columns", "description", "tags"],
        fmt=_fmt(as_json),
        footer=None if as_json else footer,
    )


@click.command()
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@json_option
@pass_settings
def history(settings: Settings, limit: int, as_json: bool) -> None:
    """Catalog versions, newest first: when, by whom, what changed."""
    commits = list(reversed(settings.open(restore=False).catalog.history()))[:limit]
    rows = [
        {
            "version": c.version,
            "created_at": c.created_at,
            "author": c.author,
            "changes": [f"{op.op} {', '.join(op.targets())}" for op in c.operations],
        }
        for c in commits
    ]
    print_rows(rows, ["version", "created_at", "author", "changes"], fmt=_fmt(as_json))


@click.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@pass_settings
def sql(settings: Settings, query: str, as_json: bool, as_csv: bool) -> None:
    """Read-only DuckDB SQL over the assets and the arco.* metadata views.

    Each asset with data is a table named after it (its latest data, with a `partition`
    column when partitioned): arco sql "select * from orders".
    """
    if as_json and as_csv:
        raise CliError("Pass --json or --csv, not both")
    relation = settings.open(restore=False).sql(query)
    columns = list(relation.columns)
    rows = [dict(zip(columns, r, strict=True)) for r in relation.fetchall()]
    print_rows(rows, columns, fmt="json" if as_json else "csv" if as_csv else "table")


@click.command()
@click.argument("asset")
@click.option("--up", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--down", type=click.IntRange(min=0), default=2, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "svg", "dot", "json"]),
    default="text",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@pass_settings
def lineage(
    settings: Settings, asset: str, up: int, down: int, fmt: str, output: Path | None
) -> None:
    """The lineage around ASSET, as text, graphviz SVG or DOT, or JSON."""
    graph = settings.open().lineage(asset, up=up, down=down)
    if fmt == "json":
        text = to_json(graph.to_json())
    elif fmt == "text":
        text = graph.to_text()
    elif fmt == "dot":
        text = to_dot(graph)
    else:
        import shutil

        if shutil.which("dot") is None:
            raise CliError(NO_DOT)
        import graphviz

        text = str(graphviz.Source(to_dot(graph)).pipe(format="svg", encoding="utf-8"))
    if output is None:
        click.echo(text)
    else:
        try:
            output.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        except OSError as exc:
            raise CliError(f"Cannot write {output}: {exc.strerror}") from None
        click.echo(f"Wrote {output}")
