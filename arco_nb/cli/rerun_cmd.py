# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``arco rerun RUN_ID``: a past run's tasks again, with today's code or the code it ran."""

from __future__ import annotations

import click

from arco_nb.cli.context import Settings, pass_settings
from arco_nb.cli.run_cmd import EXECUTOR_CHOICE, _finish
from arco_nb.core.settings import DEFAULT_EXECUTOR, executor_name


@click.command()
@click.argument("run_id")
@click.option(
    "--same-code",
    is_flag=True,
    help="Run the definitions the run ran with (from the catalog's history), not today's.",
)
@click.option("--executor", type=EXECUTOR_CHOICE, default=DEFAULT_EXECUTOR, show_default=True)
@click.option("--scheduler", help="Dask scheduler address (default: ARCO_DASK_SCHEDULER).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_settings
def rerun(
    settings: Settings,
    run_id: str,
    same_code: bool,
    executor: str,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Run again, forced, what RUN_ID ran (the tasks it materialized or failed).

    \b
    Examples:
      arco rerun 01m8e...                 with today's definitions
      arco rerun 01m8e... --same-code     with the definitions that run ran
    """
    ws = settings.open()
    results = ws.rerun(
        run_id, same_code=same_code, executor=executor_name(executor), scheduler=scheduler
    )
    _finish(results, as_json=as_json)
