# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The words people read for states, and counts that agree with their number.

Every human surface (the ``arco`` tables, the ``%arco`` magics, the catalog browser, lineage
labels) takes its words from here, so one state reads the same everywhere. Programs read the raw
states (``--json``, ``ws.runs()``, ``arco.*`` SQL views): those are the
:data:`~arco_nb.catalog.events.RunStatus` and :data:`~arco_nb.catalog.events.TaskStatus`
literals and never change for display. This module sits in the catalog layer, beside the raw
states it words, which is the lowest layer that knows them and one every surface imports.

**Runs and tasks** (run tables, ``arco show``, ``%arco run``, ``%arco runs``, the browser's
runs tab) keep their state, worded with spaces:

==============  ==========
raw state       shown
==============  ==========
``queued``      queued
``pending``     pending
``running``     running
``succeeded``   succeeded
``failed``      failed
``cancelled``   cancelled
``skipped``     skipped
``up_to_date``  up to date
``abandoned``   abandoned
==============  ==========

**Assets** (``arco assets``, ``%arco assets``, the browser's list, lineage nodes) show what a
Dagster user reads on an asset: whether its data is there, not which kind of run last looked at
it. The word comes from the asset's newest finished task:

==========================================  ====================
newest task                                 shown
==========================================  ====================
``succeeded`` or ``up_to_date``             materialized
``failed``                                  failed
``skipped`` (an upstream failed)            skipped
``running``                                 running
``pending``                                 pending
``abandoned`` (its run's process died)      abandoned
none, with a materialization                materialized
none, and no materialization                never materialized
==========================================  ====================

A partition (``ws.partition_status()``) is ``materialized``, ``failed``, ``stale`` or
``missing``: the same words for the first two.

The column that holds either kind of word is called ``status`` on every surface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "ASSET_WORDS",
    "MATERIALIZED",
    "NEVER_MATERIALIZED",
    "NEVER_RUN",
    "STATE_WORDS",
    "asset_word",
    "plural",
    "state_word",
]

MATERIALIZED: Final = "materialized"
NEVER_MATERIALIZED: Final = "never materialized"
NEVER_RUN: Final = "never run"
"""The raw status an asset listing (``AssetInfo.status``) holds for an asset without a finished
task; programs see it as it is, people see :func:`asset_word` of it."""

STATE_WORDS: Mapping[str, str] = {
    "queued": "queued",
    "pending": "pending",
    "running": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "skipped": "skipped",
    "up_to_date": "up to date",
    "abandoned": "abandoned",
}
"""The word for each raw run or task state (a state both kinds have reads the same). Keyed by
the raw states of :mod:`arco_nb.catalog.events`; a test checks that none is missing."""

ASSET_WORDS: Mapping[str, str] = {
    "pending": "pending",
    "running": "running",
    "succeeded": MATERIALIZED,
    "failed": "failed",
    "skipped": "skipped",
    "up_to_date": MATERIALIZED,  # checked and kept: as materialized as a fresh run's
    "abandoned": "abandoned",
}
"""The word for an asset whose newest task ended in each raw task state."""


def state_word(state: str) -> str:
    """The word people read for a run's or a task's raw ``state``.

    Parameters
    ----------
    state
        A raw state (``"up_to_date"``); ``""`` for a task that has no state yet.

    Returns
    -------
    str
        Its word (``"up to date"``). A state this version does not know (written by a newer
        one) still reads as words, its underscores as spaces.
    """
    return STATE_WORDS.get(state, state.replace("_", " "))


def asset_word(status: str, *, materialized: bool) -> str:
    """The word people read for an asset's status.

    Parameters
    ----------
    status
        The raw status of the asset's newest finished task; ``""`` or :data:`NEVER_RUN` when
        it has none.
    materialized
        Whether the asset has a materialization (of any partition).

    Returns
    -------
    str
        ``"materialized"``, ``"failed"``, ``"skipped"``, ``"running"``... (the table above), or
        ``"never materialized"``.
    """
    if status in ASSET_WORDS:
        return ASSET_WORDS[status]
    if not status or status == NEVER_RUN:
        return MATERIALIZED if materialized else NEVER_MATERIALIZED
    return state_word(status)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the form the number takes.

    Parameters
    ----------
    count
        How many; written with thousands separators (``1,200 rows``).
    noun
        The singular (``"run"``, ``"asset"``, ``"partition"``, ``"entry"``).
    many
        The plural when English does not make it by rule (``"indices"``).

    Returns
    -------
    str
        ``plural(1, "run") == "1 run"``, ``plural(3, "asset") == "3 assets"``,
        ``plural(0, "task") == "0 tasks"``, ``plural(2, "entry") == "2 entries"``.
    """
    if count == 1:
        return f"{count:,} {noun}"
    return f"{count:,} {many or _plural_of(noun)}"


def _plural_of(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in set("aeiou"):
        return noun[:-1] + "ies"  # entry -> entries, not key -> kies
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"  # status -> statuses, index -> indexes
    return noun + "s"
