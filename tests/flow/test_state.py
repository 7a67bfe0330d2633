# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The run and task states are listed once, as ``Literal`` types, and everything agrees."""

from __future__ import annotations

from typing import get_args

import arco_nb
from arco_nb.catalog.events import (
    RUN_FINISHED,
    RUN_STATES,
    TASK_FINISHED,
    TASK_STATES,
    RunStatus,
    TaskStatus,
)
from arco_nb.flow.state import RUN_TRANSITIONS, TASK_TRANSITIONS


def test_the_states_are_the_literals() -> None:
    assert RUN_STATES == get_args(RunStatus) == arco_nb.RunStatus.__args__
    assert TASK_STATES == get_args(TaskStatus) == arco_nb.TaskStatus.__args__
    assert RUN_STATES[0] == "queued"
    assert TASK_STATES[0] == "pending"


def test_the_state_machines_use_every_state_and_no_other() -> None:
    for states, table, finished in (
        (RUN_STATES, RUN_TRANSITIONS, RUN_FINISHED),
        (TASK_STATES, TASK_TRANSITIONS, TASK_FINISHED),
    ):
        named = {s for s in table if s is not None}.union(*table.values())
        assert named == set(states)
        assert finished < set(states)
        # a finished run never moves again; a finished task only by a retry (failed -> running)
        assert all(table.get(s, frozenset()) <= {"running"} for s in finished)
