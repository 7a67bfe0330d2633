# SPDX-License-Identifier: Apache-2.0 OR MIT
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco_nb import ConfigError
from arco_nb.core.tenancy import check_key
from arco_nb.flow.partitions import (
    DailyPartitions,
    MonthlyPartitions,
    StaticPartitions,
    parse_partitions,
)

TODAY = dt.date(2024, 3, 3)


def test_daily() -> None:
    days = DailyPartitions("2024-02-27")
    assert days.keys(today=TODAY) == [
        "2024-02-27",
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
    ]
    assert days.select("2024-02-28..2024-03-01", today=TODAY) == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
    assert days.select("2024-03-01, 2024-02-27", today=TODAY) == ["2024-03-01", "2024-02-27"]
    assert days.spec() == "daily:2024-02-27"
    assert str(DailyPartitions(dt.date(2024, 1, 1))) == "daily:2024-01-01"


def test_monthly() -> None:
    months = MonthlyPartitions("2023-11")
    assert months.keys(today=TODAY) == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03"]
    assert months.select("2023-12..2024-02", today=TODAY) == ["2023-12", "2024-01", "2024-02"]
    assert MonthlyPartitions("2023-11-15").spec() == "monthly:2023-11"
    assert MonthlyPartitions(dt.date(2024, 5, 9)).spec() == "monthly:2024-05"


def test_static() -> None:
    regions = StaticPartitions(["eu", "us", "apac"])
    assert regions.keys() == ["eu", "us", "apac"]
    assert regions.select("us,eu") == ["us", "eu"]
    assert regions.spec() == "static:eu,us,apac"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DailyPartitions("2024-13-01"), "YYYY-MM-DD"),
        (
            lambda: DailyPartitions("2024-02-27").select("2024-02-01", today=TODAY),
            "before the first",
        ),
        (lambda: DailyPartitions("2024-02-27").select("2024-03-02..2024-03-01"), "runs backwards"),
        (lambda: DailyPartitions("2024-02-27").select("2024-03-01,,2024-03-02"), "Empty partition"),
        (lambda: MonthlyPartitions("2024-01").select("2024-1"), "YYYY-MM"),
        (lambda: MonthlyPartitions("2024-01").select("2023-12"), "before the first"),
        (lambda: StaticPartitions([]), "at least one"),
        (lambda: StaticPartitions(["a", "a"]), "unique"),
        (lambda: StaticPartitions(["../x"]), "Invalid partition name"),
        (lambda: StaticPartitions(["a"]).select("b"), "Unknown partition 'b'"),
        (lambda: StaticPartitions(["a", "b"]).select("a..b"), "no ranges"),
        (lambda: parse_partitions("hourly:2024"), "Unknown partition kind"),
        (lambda: parse_partitions("daily"), "Cannot read partitions"),
    ],
)
def test_bad_partitions(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_parse_round_trips() -> None:
    for spec in ["daily:2024-01-01", "monthly:2024-01", "static:eu,us"]:
        parsed = parse_partitions(spec)
        assert parsed is not None
        assert parsed.spec() == spec
        assert parse_partitions(parsed) is parsed
    assert parse_partitions(None) is None


@given(st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)), st.integers(0, 400))
def test_daily_keys_are_contiguous_sorted_and_safe(start: dt.date, span: int) -> None:
    keys = DailyPartitions(start).keys(today=start + dt.timedelta(days=span))
    assert len(keys) == span + 1
    assert keys == sorted(keys)
    assert all(check_key(k) == k for k in keys)
