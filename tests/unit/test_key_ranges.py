"""How a capture cuts a table's keys into ranges, and how the ranges add up to the whole table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.errors import CaptureError
from verifiers.stores.key_ranges import MAX_SEGMENTS, KeyRanges, check_segment_rows, layout


@pytest.mark.parametrize(("estimate", "low", "high", "segment_rows", "expected"), [
    # (first key, last key, ranges): power-of-two widths from a multiple of the width
    (1500, 1000, 2499, 1000, (0, 3071, 3)),  # about 750 wanted: 1,024 wide, from 0
    (None, 1, 5000, 1000, (0, 5119, 5)),  # no estimate (never analysed): the key span stands in
    (-1, 1, 5000, 1000, (0, 5119, 5)),  # PostgreSQL 14+'s "never analysed"
    (10_000, 1, 3, 1, (1, 3, 3)),  # never more ranges than keys: one key each
    (5, 7, 7, 1000, (7, 7, 1)),
    (5, -7, -7, 1000, (-7, -7, 1)),
    (10, -(2**63), 2**63 - 1, 1, (-(2**63), 2**63 - 1, 8)),  # 10 wanted: 2^61 wide, the power of two above 2^64 / 10
])
def test_layout(estimate: int | None, low: int, high: int, segment_rows: int,
                expected: tuple[int, int, int]) -> None:
    cut = layout("id", estimate, low, high, segment_rows)
    assert (cut.low, cut.high, cut.buckets) == expected
    assert cut.low <= low and high <= cut.high
    width = (cut.high + 1 - cut.low) // cut.buckets
    assert width & (width - 1) == 0 and cut.low % width == 0  # aligned: next month's ranges line up
    assert all(cut.bounds(b)[1] - cut.bounds(b)[0] + 1 == width for b in range(1, cut.buckets + 1))  # type: ignore[operator]


@given(low=st.integers(-(2**63), 2**63 - 1), size=st.integers(0, 2**40), estimate=st.integers(-1, 10**9),
       segment_rows=st.integers(1, 10**6))
def test_layout_covers_the_keys_in_bounded_aligned_ranges(low: int, size: int, estimate: int,
                                                          segment_rows: int) -> None:
    high = min(low + size, 2**63 - 1)
    cut = layout("id", estimate, low, high, segment_rows)
    width = (cut.high + 1 - cut.low) // cut.buckets
    assert cut.low <= low and high <= cut.high < high + width
    assert 1 <= cut.buckets <= MAX_SEGMENTS and width & (width - 1) == 0 and cut.low % width == 0


def test_next_months_ranges_line_up_while_the_width_holds() -> None:
    january, february = layout("id", 150_000, 1, 150_000, 1000), layout("id", 180_000, 1, 180_000, 1000)
    assert january.bounds(1) == february.bounds(1) and january.bounds(100) == february.bounds(100)


def test_the_ranges_add_up_to_the_whole_table_modulo_2_64() -> None:
    ranges = KeyRanges(key="id", low=1, high=10, buckets=2,
                       ranges={1: (3, "ffffffffffffffff"), 2: (4, "0000000000000002"), 3: (1, "0000000000000000")})
    assert ranges.whole() == (8, "0000000000000001")


def test_a_segment_size_below_one_row_is_refused() -> None:
    with pytest.raises(CaptureError, match="capture mysql: --segment-rows 0"):
        check_segment_rows("mysql", 0)
