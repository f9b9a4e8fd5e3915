from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from verifiers.durations import format_duration, parse_duration
from verifiers.inventory import parse_inventory


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("4h", 14400), ("30d", 2592000),
                                                ("1h30m", 5400), ("2w", 1209600), ("0.5s", 0.5), (" 15M ", 900)])
def test_parses_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "15 minutes", "m15", "-5m", "0s", "1h 30x", "1.2.3h"])
def test_rejects_non_durations_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration|longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(0.842, "0.84s"), (12.34, "12.3s"), (245, "4m05s"),
                                                (7800, "2h10m"), (273600, "3d4h")])
def test_formats_durations_for_people(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=60, max_value=172_799))
def test_formatted_minutes_and_hours_read_back_within_a_minute(seconds: int) -> None:
    assert abs(parse_duration(format_duration(seconds)) - seconds) <= 60


@pytest.mark.parametrize(("text", "seconds"), [("PT4H", 14400), ("P30D", 2_592_000), ("PT1H30M", 5400),
                                                ("P1W", 604_800), ("PT90S", 90), ("P1DT2H", 93_600),
                                                ("pt15m", 900), ("PT1.5H", 5400)])
def test_reads_iso_8601_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "problem"), [("P1M", "years and months have no fixed length"),
                                               ("P1Y", "years and months have no fixed length"),
                                               ("PT0S", "longer than zero"), ("P", "invalid duration"),
                                               ("PT4X", "invalid duration")])
def test_refuses_iso_durations_it_cannot_read_exactly(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(text)


def test_an_inventory_takes_iso_8601_targets(tmp_path: Path) -> None:
    inventory = parse_inventory({"stores": [{"name": "db", "kind": "postgres", "rto": "PT4H", "rpo": "PT1H",
                                             "source": {"type": "file", "path": "x-*.dump"}}]},
                                tmp_path / "inventory.toml")
    assert (inventory.stores[0].rto, inventory.stores[0].rpo) == (14400, 3600)


@given(weeks=st.none() | st.integers(0, 60), days=st.none() | st.integers(0, 400),
       hours=st.none() | st.integers(0, 100), minutes=st.none() | st.integers(0, 1000),
       seconds=st.none() | st.integers(0, 10_000))
def test_iso_durations_read_as_pydantic_reads_them(weeks: int | None, days: int | None, hours: int | None,
                                                   minutes: int | None, seconds: int | None) -> None:
    """The pattern durations.py uses (to keep pydantic out of the CLI's start-up) agrees with pydantic's parser."""
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n is not None)
    text = "P" + "".join(f"{n}{u}" for n, u in ((weeks, "W"), (days, "D")) if n is not None) + (
        f"T{time}" if time else "")
    assume(text != "P")
    expected = TypeAdapter(timedelta).validate_python(text).total_seconds()
    if expected == 0:
        with pytest.raises(ValueError, match="longer than zero"):
            parse_duration(text)
    else:
        assert parse_duration(text) == expected
