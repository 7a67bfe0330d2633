# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Re-running a past run: the tasks it ran, again, with today's definitions or with the ones it
ran with (``ws.rerun(run_id, same_code=True)``, ``arco rerun RUN_ID``).

A run's tasks are in the event log (``arco.task_runs``); the definitions it ran with are in the
catalog's history, committed by the run itself before it finished, so the catalog as of the
run's end holds them. Tasks that were up to date are not run again: they did no work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from arco_nb.core.errors import ConfigError

if TYPE_CHECKING:
    from arco_nb.catalog.catalog import Catalog
    from arco_nb.flow.assets import Registry
    from arco_nb.flow.runs import TaskInfo

__all__ = ["registry_of_run", "replay_groups"]


def replay_groups(run_id: str, tasks: Iterable[TaskInfo]) -> list[tuple[str, str | None]]:
    """(selection, partitions) pairs that, forced, run again what run ``run_id`` ran: one per
    set of partition keys (most runs: one pair).

    Raises
    ------
    ConfigError
        The run ran nothing (every task was up to date).
    """
    keys: dict[str, set[str]] = {}
    for task in tasks:
        if task.status != "up_to_date":
            keys.setdefault(task.asset, set()).add(task.partition)
    if not keys:
        raise ConfigError(
            f"Run {run_id} ran no task (all were up to date): there is nothing to run again",
            hint="Pick a run that materialized or failed: ws.runs() lists them",
        )
    by_keys: dict[tuple[str, ...], list[str]] = {}
    for asset, found in sorted(keys.items()):
        by_keys.setdefault(tuple(sorted(found - {""})), []).append(asset)
    groups = []
    for partitions, assets in sorted(by_keys.items()):
        groups.append((",".join(assets), ",".join(partitions) if partitions else None))
    return groups


def registry_of_run(
    catalog: Catalog,
    run_id: str,
    finished_at: dt.datetime | None,
    code_versions: Mapping[str, str],
    namespace: dict[str, Any] | None = None,
) -> Registry:
    """The definitions run ``run_id`` ran with: the catalog as of its end (``finished_at``).
    ``code_versions`` are the code versions its materializations recorded, checked against
    that catalog.

    Raises
    ------
    ConfigError
        The run has not finished, or a definition it ran with is no longer in the catalog's
        history.
    """
    from arco_nb.flow.assets import Registry
    from arco_nb.flow.cells import spec_from_record

    if finished_at is None:
        raise ConfigError(
            f"Run {run_id} has not finished",
            hint="Wait for it, or re-run it with today's code (without --same-code)",
        )
    version = 0
    for info in catalog.history():  # the newest version committed by the time it finished
        if info.created_at > finished_at:
            break
        version = info.version
    state = catalog.as_of(version).state
    gone = sorted(
        f"{asset} ({code})"
        for asset, code in code_versions.items()
        if asset not in state.assets or state.assets[asset].code_version != code
    )
    if gone:
        raise ConfigError(
            f"Run {run_id} ran code that the catalog's history no longer holds: " + ", ".join(gone),
            hint="Re-run it with today's code instead (without --same-code)",
        )
    registry = Registry()
    for record in state.assets.values():
        registry.add(spec_from_record(record, namespace=namespace))
    return registry
