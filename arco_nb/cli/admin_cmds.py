# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Commands that change, check or export a workspace: init, compact, gc, doctor, export."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path

import click

from arco_nb.cli.context import CliError, Settings, pass_settings
from arco_nb.cli.output import print_rows, to_json

MARKER = "workspace.json"


@click.command()
@click.argument("root", required=False)
@click.option(
    "--project/--no-project",
    default=True,
    help="Write an arco.toml naming the store in this folder (default: unless one is here).",
)
@pass_settings
def init(settings: Settings, root: str | None, project: bool) -> None:
    """Create a workspace at ROOT (default: --root, ARCO_ROOT, arco.toml, else ./.arco) and an
    arco.toml here that names it, so commands and notebooks started here or below use it."""
    import os

    from arco_nb._version import __version__
    from arco_nb.core.errors import AlreadyExists
    from arco_nb.core.project import PROJECT_FILE, project_text

    if root is not None:
        settings.root = root
    chosen = settings.resolve()
    ws = settings.open(restore=False)
    body = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "created_by": f"arco {__version__}"}
    try:
        ws.store.put_if_absent(MARKER, json.dumps(body).encode())
        click.echo(f"Initialized an Arco workspace at {ws.scope.url}")
    except AlreadyExists:
        click.echo(f"Arco workspace already at {ws.scope.url}")
    here = Path(PROJECT_FILE)
    if not project or chosen.origin.endswith(PROJECT_FILE):
        pass  # not asked for, or the store already comes from a project file
    elif here.exists():
        click.echo(f"{here.resolve()} is here already; left as it is.")
    else:
        named = ws.scope.root
        if "://" not in named and not os.path.relpath(named).startswith(".."):
            named = os.path.relpath(named)  # the project moves with its folder
        try:
            with here.open("x", encoding="utf-8") as f:
                f.write(project_text(named))
        except FileExistsError:  # written meanwhile by someone else: theirs stands
            click.echo(f"{here.resolve()} is here already; left as it is.")
        else:
            click.echo(f"Wrote {here.resolve()}: commands and notebooks below it use this store.")
    click.echo("Next: `%load_ext arco` in a notebook, or `arco run notebook.ipynb`.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def compact(settings: Settings, as_json: bool) -> None:
    """Compact the event inbox into Parquet parts; collect what the grace period allows."""
    result = settings.open(restore=False).compact()
    if as_json:
        click.echo(to_json(result))
        return
    click.echo(result.describe())


@click.command()
@click.option(
    "--grace",
    type=click.FloatRange(min=0, max=5_256_000),  # ten years
    default=60.0,
    show_default=True,
    help="Minutes a file must be old before it can go.",
)
@click.option("--dry-run", is_flag=True, help="Say what would go; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def gc(settings: Settings, grace: float, dry_run: bool, as_json: bool) -> None:
    """Delete snapshot and data files that no record names, and temporary files of writes
    that never finished (lost races, killed runs)."""
    if math.isnan(grace):  # NaN slips through FloatRange
        raise click.BadParameter("not a number", param_hint="--grace")
    result = settings.open(restore=False).gc(grace=dt.timedelta(minutes=grace), dry_run=dry_run)
    if as_json:
        click.echo(to_json(result))
        return
    verb = "Would delete" if dry_run else "Deleted"
    parts = ", ".join(f"{n} {kind.rstrip('s')} files" for kind, n in result.deleted.items())
    click.echo(
        f"{verb} {parts}; kept {result.kept_young} unreferenced files younger than {grace:g} min."
    )


@click.command()
@click.option(
    "--repair",
    is_flag=True,
    help="Move damaged objects to _quarantine/ and rebuild what the log and inbox allow.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def doctor(settings: Settings, repair: bool, as_json: bool) -> None:
    """Verify the catalog log, snapshots, manifests, parts, inbox and data files. Exit code 1
    while a problem is left; --repair never deletes anything."""
    report = settings.open(restore=False).doctor(repair=repair)
    if as_json:
        click.echo(to_json(report.to_json()))
    else:
        checked = ", ".join(f"{n} {kind}" for kind, n in report.checked.items()) or "nothing"
        if report.findings:
            print_rows(
                [vars(f) | {"repaired": "yes" if f.repaired else "no"} for f in report.findings],
                ["kind", "key", "problem", "remedy", "repaired"],
                title="Problems found",
            )
        click.echo(f"Checked {checked}.")
        if report.quarantine:
            click.echo(f"Damaged objects were moved or copied to {report.quarantine}/.")
        if report.clean:
            click.echo("Everything is readable and consistent.")
        elif not report.healthy:
            hint = "" if repair else " Run `arco doctor --repair` to fix what can be fixed."
            click.echo(f"{sum(not f.repaired for f in report.findings)} problems left.{hint}")
    if not report.healthy:
        sys.exit(1)


@click.group()
def export() -> None:
    """Export metadata to other tools."""


@export.command()
@click.option("--run", "run_id", help="Only this run.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the JSON Lines.",
)
@pass_settings
def openlineage(settings: Settings, run_id: str | None, output: Path) -> None:
    """OpenLineage RunEvents, one per run state change, as JSON Lines."""
    from arco_nb.cli.openlineage import run_events

    events = run_events(settings.open(restore=False), run_id=run_id)
    try:
        with output.open("w", encoding="utf-8") as f:
            for event in events:
                f.write(json.dumps(event, sort_keys=True) + "\n")
    except OSError as exc:
        raise CliError(f"Cannot write {output}: {exc.strerror}") from None
    click.echo(f"Wrote {len(events)} OpenLineage events to {output}")
