"""How a capture cuts a table's keys into ranges, and how the ranges add up to the whole table."""

from __future__ import annotations

import pytest

from verifiers.errors import CaptureError
from verifiers.stores.key_ranges import MAX_SEGMENTS, KeyRanges, check_segment_rows, segments


@pytest.mark.parametrize(("estimate", "low", "high", "segment_rows", "expected"), [
    (1500, 1000, 2499, 1000, 2),  # about 1,000 rows each, rounded up
    (None, 1, 5000, 1000, 5),  # no estimate (never analysed): the key span stands in
    (-1, 1, 5000, 1000, 5),  # PostgreSQL 14+'s "never analysed"
    (10_000, 1, 3, 1, 3),  # never more ranges than keys
    (10**12, 0, 2**62, 1000, MAX_SEGMENTS),  # a manifest stays bounded
    (5, 7, 7, 1000, 1),
])
def test_segments(estimate: int | None, low: int, high: int, segment_rows: int, expected: int) -> None:
    assert segments(estimate, low, high, segment_rows) == expected


def test_the_ranges_add_up_to_the_whole_table_modulo_2_64() -> None:
    ranges = KeyRanges(key="id", low=1, high=10, buckets=2,
                       ranges={1: (3, "ffffffffffffffff"), 2: (4, "0000000000000002"), 3: (1, "0000000000000000")})
    assert ranges.whole() == (8, "0000000000000001")


def test_a_segment_size_below_one_row_is_refused() -> None:
    with pytest.raises(CaptureError, match="capture mysql: --segment-rows 0"):
        check_segment_rows("mysql", 0)
