# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco``: the command group, its global options, and how errors become exit codes.

Exit codes: 0 success, 1 an asset failed, 2 bad input (flags, names, selections, roots).
"""

from __future__ import annotations

from typing import Any

import click

from arco_nb._version import __version__
from arco_nb.cli.context import CliError, Settings

__all__ = ["LAZY_COMMANDS", "ArcoGroup", "NoPandas", "cli"]


# Command name -> "module:attribute", in the order `arco --help` lists them. A command's module
# is imported when the command is used (or listed by --help), never at import time.
LAZY_COMMANDS = {
    "run": "arco_nb.cli.run_cmd:run",
    "rerun": "arco_nb.cli.rerun_cmd:rerun",
    "plan": "arco_nb.cli.inspect_cmds:plan",
    "explain": "arco_nb.cli.inspect_cmds:explain",
    "assets": "arco_nb.cli.inspect_cmds:assets",
    "runs": "arco_nb.cli.inspect_cmds:runs",
    "show": "arco_nb.cli.inspect_cmds:show",
    "catalog": "arco_nb.cli.inspect_cmds:catalog",
    "history": "arco_nb.cli.inspect_cmds:history",
    "sql": "arco_nb.cli.inspect_cmds:sql",
    "lineage": "arco_nb.cli.inspect_cmds:lineage",
    "init": "arco_nb.cli.admin_cmds:init",
    "compact": "arco_nb.cli.admin_cmds:compact",
    "gc": "arco_nb.cli.admin_cmds:gc",
    "doctor": "arco_nb.cli.admin_cmds:doctor",
    "export": "arco_nb.cli.admin_cmds:export",
}


class ArcoGroup(click.Group):
    """Loads commands lazily (Kedro's ``LazyGroup``), keeps them in a fixed order, and turns
    Arco's own errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from arco_nb.core.errors import ArcoError

        try:
            return super().invoke(ctx)
        except ArcoError as exc:
            raise CliError(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's API
        return [*LAZY_COMMANDS, *(c for c in self.commands if c not in LAZY_COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        return command


def _storage_options(values: tuple[str, ...]) -> dict[str, str]:
    from arco_nb.core.errors import ConfigError
    from arco_nb.core.settings import parse_options

    try:
        return parse_options(values)
    except ConfigError as exc:  # before any command runs: click's own usage error
        raise click.BadParameter(
            exc.message.removeprefix("--storage-option "), param_hint="--storage-option"
        ) from None


class NoPandas:
    """An import finder that says pandas is not installed (see :func:`arco_nb.cli.main`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:  # noqa: ARG002
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@click.group(
    cls=ArcoGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# No envvar= here: the environment is read in one place (arco_nb.core.settings), the same for
# the command line, the magics and the Python API.
@click.option(
    "--root",
    help="Local path or URL of the lake (default: ARCO_ROOT, else the nearest arco.toml, "
    "else ./.arco).",
)
@click.option("--tenant", help="Tenant id (default: ARCO_TENANT, else default).")
@click.option("--workspace", help="Workspace id (default: ARCO_WORKSPACE, else default).")
@click.option(
    "--storage-option",
    "storage_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Passed to fsspec, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable).",
)
@click.option(
    "--sql-sandbox/--no-sql-sandbox",
    default=None,
    help="Run SQL assets read-only over their upstream assets, no files "
    "(default: ARCO_SQL_SANDBOX, else off).",
)
@click.version_option(__version__, prog_name="arco")
@click.pass_context
def cli(
    ctx: click.Context,
    root: str | None,
    tenant: str | None,
    workspace: str | None,
    storage_options: tuple[str, ...],
    sql_sandbox: bool | None,
) -> None:
    """Arco: a notebook-first data catalog and asset orchestrator.

    \b
    Examples:
      arco run notebooks/01_quickstart.ipynb     run a notebook's assets headless
      arco run pipeline.py --select +report      run @asset functions of a module
      arco assets                                what is defined, and its state
      arco runs --status failed                  recent failed runs
      arco show RUN_ID                           one run: tasks, timings, errors
      arco rerun RUN_ID --same-code              that run's tasks again, with its code
      arco lineage orders --format svg -o orders.svg
      arco sql "select asset, rows from arco.materializations" --csv
      arco --root s3://bucket/lake --tenant acme assets

    Settings also come from ARCO_ROOT, ARCO_TENANT, ARCO_WORKSPACE and ARCO_SQL_SANDBOX, and
    the store from the nearest arco.toml (`arco init` writes one).
    """
    ctx.obj = Settings(root, tenant, workspace, _storage_options(storage_options), sql_sandbox)
    if ctx.invoked_subcommand is None:  # plain `arco`: the help, and which store it would use
        click.echo(ctx.get_help())
        click.echo(f"\nStore: {ctx.obj.resolve().describe('--root')}")
