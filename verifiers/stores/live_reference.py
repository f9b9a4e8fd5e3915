"""What the live reference (a store's `live`: the live database standing where a manifest would) judges alike for
every kind: a table's row count against the live one, and what a point-in-time restore cannot compare.

A point-in-time restore may be of a moment weeks old (restore_to = "random" within a 35-day window): the live
count has every row written since, so a count within `row_count_tolerance` of it would fail a sound restore of a
growing table most months, or pass a short one of a shrinking table. Its rows older than the restore time are
compared by the checksum where `live.stable` names a condition; the counts are recorded, not judged."""

from __future__ import annotations

from verifiers import checks
from verifiers.checks import CheckResult, not_compared

NOT_AS_OF_RESTORE = ("a point-in-time restore: without a live.stable condition the rows written after the restore "
                     "time cannot be told apart from older ones")
COUNT_NOT_AS_OF_RESTORE = ("a point-in-time restore: the live count includes every row written after the restore "
                           "time; the checksum compares the rows a live.stable condition selects")


def live_row_count(table: str, restored_rows: int | None, live_rows: int | None, tolerance: float, *,
                   point_in_time: bool) -> CheckResult:
    """The restored table's row count against the live one's, within `tolerance`; recorded, not judged, for a
    point-in-time restore whose table was restored."""
    if live_rows is None:
        return CheckResult("row_count", table, False, restored_rows, None, f"{table} is no longer in the live database")
    if point_in_time and restored_rows is not None:
        return not_compared("row_count", table, restored_rows, COUNT_NOT_AS_OF_RESTORE)
    return checks.row_count(table, restored_rows, live_rows, tolerance)
