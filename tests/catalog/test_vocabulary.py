# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The words people read for states, and counts in the number they agree with."""

from __future__ import annotations

import pytest

from arco_nb.catalog import vocabulary
from arco_nb.catalog.events import RUN_STATES, TASK_STATES
from arco_nb.catalog.vocabulary import (
    ASSET_WORDS,
    NEVER_RUN,
    STATE_WORDS,
    asset_word,
    plural,
    state_word,
)


def test_every_raw_state_has_a_word_and_no_word_names_an_unknown_state() -> None:
    # A state added to the Literals in events.py fails here until it is worded.
    assert set(STATE_WORDS) == set(RUN_STATES) | set(TASK_STATES)
    assert set(ASSET_WORDS) == set(TASK_STATES)


def test_words_are_words() -> None:
    for word in [*STATE_WORDS.values(), *ASSET_WORDS.values()]:
        assert word
        assert "_" not in word
        assert word == word.strip().lower()


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        ("queued", "queued"),
        ("pending", "pending"),
        ("running", "running"),
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        ("skipped", "skipped"),
        ("up_to_date", "up to date"),
        ("abandoned", "abandoned"),
        ("", ""),  # a task with no state yet
        ("paused_by_user", "paused by user"),  # written by a newer version: still words
    ],
)
def test_run_and_task_states_keep_their_state_in_words(raw: str, word: str) -> None:
    assert state_word(raw) == word


@pytest.mark.parametrize(
    ("status", "materialized", "word"),
    [
        ("succeeded", True, "materialized"),
        ("up_to_date", True, "materialized"),  # the same data as a fresh run's
        ("failed", True, "failed"),
        ("failed", False, "failed"),
        ("skipped", False, "skipped"),
        ("running", False, "running"),
        ("pending", False, "pending"),
        ("abandoned", True, "abandoned"),
        ("", False, "never materialized"),
        (NEVER_RUN, False, "never materialized"),
        (NEVER_RUN, True, "materialized"),  # data recorded without a task outcome
        ("paused_by_user", True, "paused by user"),
    ],
)
def test_an_assets_word(status: str, materialized: bool, word: str) -> None:
    assert asset_word(status, materialized=materialized) == word


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (1, "run", "1 run"),
        (0, "run", "0 runs"),
        (2, "run", "2 runs"),
        (1, "asset", "1 asset"),
        (3, "asset", "3 assets"),
        (1, "partition", "1 partition"),
        (7, "partition", "7 partitions"),
        (1, "task", "1 task"),
        (4, "task", "4 tasks"),
        (1, "entry", "1 entry"),
        (2, "entry", "2 entries"),
        (2, "key", "2 keys"),
        (2, "status", "2 statuses"),
        (2, "inbox object", "2 inbox objects"),
        (1_234, "row", "1,234 rows"),
        (-1, "row", "-1 rows"),
    ],
)
def test_plural(count: int, noun: str, text: str) -> None:
    assert plural(count, noun) == text


def test_plural_takes_an_irregular_form() -> None:
    assert plural(2, "index", "indices") == "2 indices"
    assert plural(1, "index", "indices") == "1 index"


def test_the_docstring_tables_list_every_word() -> None:
    doc = vocabulary.__doc__ or ""
    for raw, word in STATE_WORDS.items():
        assert f"``{raw}``" in doc
        assert word in doc
    for word in {*ASSET_WORDS.values(), "never materialized"}:
        assert word in doc


def test_a_compaction_is_described_in_words() -> None:
    from arco_nb.catalog.compaction import CompactionResult

    one = CompactionResult(
        1, inbox_objects=1, events=1, parts_written=1, inbox_deleted=0, parts_deleted=2
    )
    assert one.describe() == (
        "Compacted 1 event from 1 inbox object into 1 Parquet part; collected 0 inbox objects "
        "and 2 parts past the grace period."
    )
