from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.durations import format_duration, parse_duration


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
