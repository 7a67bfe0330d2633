# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb.core.ids import (
    canonical_json,
    content_hash,
    content_id,
    id_timestamp,
    is_id,
    new_id,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def test_new_id_shape() -> None:
    value = new_id()
    assert len(value) == 26
    assert is_id(value)
    assert value == value.lower()


def test_ids_are_strictly_increasing_within_a_process() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_are_unique_across_threads() -> None:
    out: list[list[str]] = [[] for _ in range(8)]

    def make(i: int) -> None:
        out[i].extend(new_id() for _ in range(2_000))

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for chunk in out for i in chunk]
    assert len(set(everything)) == len(everything)


def test_ids_sort_by_time_and_carry_it() -> None:
    early = new_id(now_ms=1_700_000_000_000)
    late = new_id(now_ms=4_000_000_000_000)
    assert early < late
    assert id_timestamp(late) == dt.datetime.fromtimestamp(4_000_000_000, tz=dt.UTC)


def test_clock_going_back_stays_monotonic() -> None:
    first = new_id(now_ms=4_100_000_000_000)
    second = new_id(now_ms=1_000)
    assert second > first


def test_id_limits() -> None:
    with pytest.raises(ValueError, match="48-bit"):
        new_id(now_ms=-1)
    with pytest.raises(ValueError, match="not an Arco id"):
        id_timestamp("nope")
    assert not is_id("8" + "0" * 25)
    assert not is_id("u" * 26)


def test_canonical_json_is_compact_sorted_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "é": "ü"}) == '{"a":[1,2],"b":1,"é":"ü"}'.encode()
    assert canonical_json((1, 2)) == b"[1,2]"


def test_canonical_json_of_richer_values() -> None:
    class Color(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Point:
        y: int
        x: int

    value = {
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(2024, 1, 2),
        "tags": {"b", "a"},
        "color": Color.RED,
        "point": Point(y=2, x=1),
    }
    assert json.loads(canonical_json(value)) == {
        "when": "2024-01-02T01:04:05Z",
        "day": "2024-01-02",
        "tags": ["a", "b"],
        "color": "red",
        "point": {"x": 1, "y": 2},
    }


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), dt.datetime(2024, 1, 1), object(), Exception]
)
def test_canonical_json_refuses_values_without_a_canonical_form(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"x": bad})


@given(json_values)
def test_canonical_json_is_a_fixed_point(value: object) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


@given(st.dictionaries(st.text(), st.integers(), min_size=2))
def test_content_id_ignores_key_order(mapping: dict[str, int]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert content_id(mapping) == content_id(reversed_mapping)


def test_content_ids() -> None:
    event = {"kind": "run.started", "run_id": "r1"}
    assert content_hash(event) == content_hash(dict(reversed(list(event.items()))))
    assert len(content_hash(event)) == 64
    assert content_hash(b"raw") != content_hash("raw")
    assert content_id(event, prefix="ev_").startswith("ev_")
    assert len(content_id(event, length=16)) == 16
    assert content_id(event) != content_id({**event, "run_id": "r2"})
    with pytest.raises(ValueError, match="between 16 and 64"):
        content_id(event, length=8)
