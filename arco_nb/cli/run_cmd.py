# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco run``: a notebook's assets, a module's @asset functions, or the catalog's assets.

Notebooks run in a real Jupyter kernel through nbclient, cell by cell, with the same magics as
in Jupyter (ADR 0012): the plans, data and catalog match an interactive run. Modules and the
catalog's assets run in this process with a progress bar per task.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from arco_nb.catalog.vocabulary import plural, state_word
from arco_nb.cli.context import CliError, Settings, pass_settings
from arco_nb.cli.output import print_rows, to_json
from arco_nb.core.settings import (
    DEFAULT_EXECUTOR,
    EXECUTORS,
    RUNS_FILE_VARIABLE,
    executor_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from arco_nb.catalog.events import RunStatus
    from arco_nb.flow.execute import RunResult
    from arco_nb.flow.runs import RunInfo
    from arco_nb.workspace import Workspace

EXECUTOR_CHOICE = click.Choice(EXECUTORS)


@click.command()
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option("--select", "selection", help="name, +name, name+, tag:x, a,b (default: all).")
@click.option("--partitions", help="Keys or a range: 2024-01-01..2024-01-31.")
@click.option("--executor", type=EXECUTOR_CHOICE, default=DEFAULT_EXECUTOR, show_default=True)
@click.option("--scheduler", help="Dask scheduler address (default: ARCO_DASK_SCHEDULER).")
@click.option("--force", is_flag=True, help="Run every selected task, even up to date.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_settings
def run(
    settings: Settings,
    target: Path | None,
    selection: str | None,
    partitions: str | None,
    executor: str,
    scheduler: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Run assets headless: TARGET is a notebook (.ipynb), a module (.py) with @asset
    functions, or nothing (the assets already in the catalog).

    \b
    Exit code 0: everything succeeded; 1: an asset failed (or the run was cancelled);
    2: bad input.
    """
    if target is not None and not target.is_file():
        raise CliError(f"No such notebook or module: {target}")
    if target is not None and target.suffix == ".ipynb":
        _run_notebook(settings, target, selection, partitions, executor, force, as_json=as_json)
        return
    if target is not None and target.suffix != ".py":
        raise CliError(f"Cannot run {target.name}: give a .ipynb notebook or a .py module")
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        # With --json, stdout is for the JSON only: the user's prints go to stderr.
        names = _load_module(target) if target is not None else []
        ws = settings.open()
        if names:
            ws.define_all([ws.registry.get(n) for n in names])  # known even if they fail
        # An empty --select is the graph's to refuse, not "everything" ("$SEL" unset).
        chosen = selection if selection is not None else (",".join(names) if names else None)
        result = _run_quietly(
            ws,
            chosen,
            partitions=partitions,
            force=force,
            executor=executor,
            scheduler=scheduler,
            quiet=as_json,
        )
    _finish([result] if result else [], as_json=as_json)


def _load_module(path: Path) -> list[str]:
    """Import ``path``; return the assets it defined, in definition order."""
    import runpy

    from arco_nb.flow.assets import default_registry

    before = {s.name: s for s in default_registry}
    sys.path.insert(0, str(path.resolve().parent))
    try:
        runpy.run_path(str(path), run_name="__arco_run__")
    except SyntaxError as exc:
        raise CliError(f"{path}: line {exc.lineno}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # the module's own code failed while importing
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f" (line {frames[-1].lineno})" if frames else ""
        raise CliError(f"{path} failed to import{where}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    names = [s.name for s in default_registry if before.get(s.name) is not s]
    if not names:
        raise CliError(f"{path} defines no assets; decorate functions with @arco.asset")
    return names


def _run_quietly(
    ws: Workspace,
    selection: str | None,
    *,
    partitions: str | None,
    force: bool,
    executor: str,
    scheduler: str | None,
    quiet: bool,
) -> RunResult | None:
    from rich.markup import escape

    plan = ws.plan(selection, partitions=partitions, force=force)
    if not plan.to_run:
        if not quiet:
            up_to_date = plural(len(plan.tasks), "task")
            click.echo(f"Nothing to run: {up_to_date} up to date ({plan.plan_id}).")
        return None
    progress = _progress(quiet=quiet)
    bar = progress.add_task("starting", total=len(plan.to_run))

    def observe(event: Any) -> None:
        if event.kind != "task":
            return
        status = event.payload.get("status")
        label = f"{event.asset}[{event.partition}]" if event.partition else event.asset
        if status == "running":
            progress.update(bar, description=escape(f"running {label}"))
        elif status in {"succeeded", "failed", "skipped"}:
            progress.advance(bar)

    with progress:
        try:
            return ws.run(
                plan=plan,
                executor=executor_name(executor),
                scheduler=scheduler,
                observer=observe,
            )
        except KeyboardInterrupt:
            progress.stop()
            click.echo("Cancelled: the run is recorded as cancelled.", err=True)
            sys.exit(130)


def _progress(*, quiet: bool) -> Any:
    """A progress bar on stderr (stdout stays for the results)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        disable=quiet,
    )


def _finish(results: list[RunResult], *, as_json: bool) -> None:
    """The summary table, the user's tracebacks of what failed, and the exit code."""
    rows = []
    for result in results:
        for task in result.plan.tasks:
            state = result.state.tasks[task.key]
            seconds = None
            if state.started_at and state.finished_at:
                seconds = round((state.finished_at - state.started_at).total_seconds(), 3)
            rows.append(
                {
                    "run_id": result.run_id,
                    "task": task.label,
                    "status": state.status,
                    "reason": task.reason,
                    "attempt": state.attempt,
                    "seconds": seconds,
                    "error": state.error,
                }
            )
    failed = [r for r in results if r.status != "succeeded"]
    if as_json:
        click.echo(
            to_json(
                {
                    "runs": [
                        {"run_id": r.run_id, "status": r.status, "plan_id": r.plan.plan_id}
                        for r in results
                    ],
                    "tasks": rows,
                }
            )
        )
    elif rows:
        # The JSON above keeps the raw states; the table and the lines below are for people.
        shown = [r | {"status": state_word(str(r["status"] or ""))} for r in rows]
        print_rows(shown, ["task", "status", "reason", "attempt", "seconds"], title="Tasks")
        for row in shown:
            if row["status"] in {"failed", "skipped"} and row["error"]:
                click.echo(f"\n{row['task']} {row['status']}:\n{row['error']}", err=True)
        for result in results:
            click.echo(f"Run {result.run_id} {state_word(result.status)} ({result.plan.plan_id})")
    if failed:
        sys.exit(1)


def _run_notebook(
    settings: Settings,
    path: Path,
    selection: str | None,
    partitions: str | None,
    executor: str,
    force: bool,
    *,
    as_json: bool,
) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from rich.markup import escape

    ws = settings.open(restore=False)
    try:
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises several kinds for a damaged file
        raise CliError(f"{path} is not a readable notebook: {exc}") from None
    if selection or partitions or force:  # the same command a user would type last
        import shlex

        line = " ".join(
            ["%arco run", shlex.quote(selection) if selection else ""]
            + ([f"--partitions {shlex.quote(partitions)}"] if partitions else [])
            + (["--force"] if force else [])
        )
        cell = nbformat.v4.new_code_cell(f"%load_ext arco\n{line}")  # type: ignore[no-untyped-call]
        cell.metadata["arco_cli"] = True
        nb.cells.append(cell)
    env = dict(os.environ)
    env.update(
        {
            "ARCO_ROOT": ws.scope.root,
            "ARCO_TENANT": ws.scope.tenant,
            "ARCO_WORKSPACE": ws.scope.workspace,
            "ARCO_EXECUTOR": executor,
            "ARCO_SQL_SANDBOX": "1" if ws.sandbox else "0",
        }
    )
    if settings.storage_options:
        env["ARCO_STORAGE_OPTIONS"] = json.dumps(settings.storage_options)
    # The kernel notes each run it starts here: only those are this command's runs.
    ours = _RunsFile()
    env[RUNS_FILE_VARIABLE] = str(ours.path)
    # The kernel process's own stderr holds Jupyter's chatter (the TCP warning, a reply that
    # races the shutdown after Ctrl-C), never the user's output: kept aside, shown if it dies.
    kernel_log = _temp_file("arco-kernel-", ".log")
    client = NotebookClient(
        nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    progress = _progress(quiet=as_json)
    bar = progress.add_task(f"{path.name}: starting a kernel", total=len(code))
    error: str | None = None
    with (
        progress,
        kernel_log.open("wb") as kernel_stderr,
        _dead_kernel(kernel_log),
        client.setup_kernel(env=env, stderr=kernel_stderr),
    ):
        for number, index in enumerate(code, 1):
            cell = nb.cells[index]
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            progress.update(bar, description=escape(f"{path.name} cell {number}: {first[:40]}"))
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                error = _cell_error(cell, number)
                if cell.metadata.get("arco_cli") and "UsageError" in error:
                    raise CliError(error.splitlines()[-1].removeprefix("UsageError: ")) from None
                break
            except KeyboardInterrupt:
                import logging

                # nbclient's interrupted task would be reported at exit; the user pressed Ctrl-C.
                logging.getLogger("asyncio").setLevel(logging.CRITICAL)
                _interrupt(client, ws, ours)
                progress.stop()
                click.echo("Cancelled: the running asset's run is recorded as cancelled.", err=True)
                sys.exit(130)
            progress.advance(bar)
    _notebook_summary(ws, ours, path, error, as_json=as_json, assets=_asset_cells(nb))


def _temp_file(prefix: str, suffix: str) -> Path:
    """An empty temporary file, removed when this command exits."""
    import atexit
    import tempfile

    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    os.close(fd)
    path = Path(name)
    atexit.register(path.unlink, missing_ok=True)
    return path


@contextlib.contextmanager
def _dead_kernel(kernel_log: Path) -> Iterator[None]:
    """A kernel that dies (killed, out of memory) is a CliError quoting what it printed last."""
    from nbclient.exceptions import DeadKernelError

    try:
        yield
    except DeadKernelError:
        said = kernel_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last = "\n".join(said[-15:]) or "nothing"
        raise CliError(
            f"the notebook's kernel died; it printed:\n{last}\n"
            "Check the machine's memory, or run the notebook in Jupyter to see the cell."
        ) from None


class _RunsFile:
    """The file the kernel appends its run ids to (``ARCO_RUNS_FILE``); removed at exit."""

    def __init__(self) -> None:
        self.path = _temp_file("arco-runs-", ".txt")

    def _lines(self) -> list[list[str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return []
        return [line.split() for line in text.splitlines() if line.strip()]

    def ids(self) -> set[str]:
        return {words[0] for words in self._lines()}

    def runs(self, ws: Workspace, status: RunStatus | None = None) -> list[RunInfo]:
        """This command's runs, newest first, in whichever workspace of ``ws``'s root each
        ran (a notebook may switch workspace with ``%arco use``)."""
        where: dict[tuple[str, str], set[str]] = {}
        for words in self._lines():
            tenant, workspace = (
                words[1:3] if len(words) >= 3 else (ws.scope.tenant, ws.scope.workspace)
            )
            where.setdefault((tenant, workspace), set()).add(words[0])
        found: list[RunInfo] = []
        for (tenant, workspace), ids in sorted(where.items()):
            other = ws
            if (tenant, workspace) != (ws.scope.tenant, ws.scope.workspace):
                from arco_nb.workspace import Workspace

                other = Workspace(
                    ws.scope.root,
                    tenant=tenant,
                    workspace=workspace,
                    storage_options=dict(ws.scope.storage_options) or None,
                )
            found += [r for r in other.runs(status=status) if r.run_id in ids]
        return sorted(found, key=lambda r: r.run_id, reverse=True)


def _interrupt(client: Any, ws: Workspace, ours: _RunsFile) -> None:
    """Interrupt the kernel as Jupyter does for a local kernel (SIGINT), then wait until no
    run this command started is still running: the executor records the cancellation."""
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    if pid is None:
        return
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not ours.runs(ws, status="running"):
            return
        time.sleep(0.2)


def _cell_error(cell: Any, number: int) -> str:
    """What the cell showed: the magic's stderr (the user's traceback), or the traceback."""
    import re

    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            parts.append(output.get("text", ""))
        if output.get("output_type") == "error":
            if output.get("ename") == "UsageError" or parts:
                parts.append(f"{output.get('ename')}: {output.get('evalue')}")
            else:  # plain Python in the notebook failed: its traceback, without colours
                text = "\n".join(output.get("traceback", []))
                parts.append(re.sub(r"\x1b\[[0-9;]*m", "", text))
    return f"cell {number} failed:\n" + "".join(parts).strip()


# The flags of ``%%asset``; every other option takes a value (the cell magic's own parser lives
# in the notebook layer, which the command line does not import).
_ASSET_FLAGS = frozenset({"--sql", "--python", "--no-run", "-h", "--help"})


def _asset_cells(nb: Any) -> dict[str, bool]:
    """The names the notebook's ``%%asset NAME`` cells define, in cell order, each with
    whether a cell of it materializes it (has no ``--no-run``)."""
    import shlex

    names: dict[str, bool] = {}
    for cell in nb.cells:
        source = cell.source.lstrip() if cell.cell_type == "code" else ""
        first = source.splitlines()[0] if source else ""
        if first.split(maxsplit=1)[:1] != ["%%asset"]:
            continue
        try:
            words = shlex.split(first)[1:]
        except ValueError:  # an unclosed quote: the cell failed, and said so itself
            continue
        takes_value = False
        for word in words:
            if takes_value:
                takes_value = False
            elif word.startswith("-"):
                takes_value = word not in _ASSET_FLAGS and "=" not in word
            else:
                names[word] = names.get(word, False) or "--no-run" not in words
                break
    return names


def _notebook_summary(
    ws: Workspace,
    ours: _RunsFile,
    path: Path,
    error: str | None,
    *,
    as_json: bool,
    assets: dict[str, bool],
) -> None:
    """The notebook's runs (a table, or JSON), then the failing cell's error; or, when its
    cells started no run, one line saying why (``assets``: :func:`_asset_cells`)."""
    runs = ours.runs(ws)
    runs.reverse()  # oldest first
    if as_json:
        click.echo(to_json({"notebook": str(path), "runs": runs, "error": error}))
    elif runs or ours.ids():
        print_rows(
            [vars(r) | {"failed": list(r.failed), "status": state_word(r.status)} for r in runs],
            ["run_id", "status", "plan_id", "materialized", "up_to_date", "failed"],
            title=f"Runs of {path.name}",
            footer=plural(len(runs), "run"),
        )
    else:  # an empty table and "0 runs" would leave the user to guess why
        click.echo(_nothing_ran(path.name, assets, failed=error is not None))
    if error and not as_json:
        click.echo(f"\n{error}", err=True)
    if error or any(r.status != "succeeded" for r in runs):
        sys.exit(1)


def _nothing_ran(name: str, assets: dict[str, bool], *, failed: bool) -> str:
    """The one line for a notebook whose cells started no run.

    Without a failure, each ``%%asset`` cell that may run found its asset up to date (a cell
    that runs records a run); ``--no-run`` cells only define theirs.
    """
    if failed:  # the cells after the failing one never ran: nothing is known to be up to date
        return f"{name}: no runs started."
    ran = sum(assets.values())
    defined = len(assets) - ran
    only = f"{plural(defined, 'asset')} defined with --no-run" if defined else ""
    if ran:
        counts = plural(ran, "asset") + (f"; {only}" if only else "")
        return f"{name}: everything is up to date ({counts}), nothing ran."
    if only:
        return f"{name}: nothing ran ({only})."
    return f"{name}: no %%asset cells, nothing ran."
