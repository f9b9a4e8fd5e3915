"""What the live reference (a store's `live`: the live database standing where a manifest would) judges alike for
every kind: a table's row count against the live one, and what a point-in-time restore cannot compare.

A point-in-time restore may be of a moment weeks old (restore_to = "random" within a 35-day window): the live
count has every row written since, so a count within `row_count_tolerance` of it would fail a sound restore of a
growing table most months, or pass a short one of a shrinking table. Its rows older than the restore time are
compared by the checksum where `live.stable` names a condition; the counts are recorded, not judged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from verifiers import checks
from verifiers.checks import DATABASE_SUBJECT, CheckResult, not_compared
from verifiers.store_settings import TableFilter
from verifiers.stores.base import selected_tables

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


class TableSeen(Protocol):
    """A table as either side was measured: its rows, its checksum (over its stable condition's rows) and schema."""

    @property
    def rows(self) -> int: ...
    @property
    def checksum(self) -> str | None: ...
    @property
    def schema_(self) -> Mapping[str, str]: ...


class DatabaseSeen(Protocol):
    @property
    def tables(self) -> Mapping[str, TableSeen]: ...
    @property
    def objects(self) -> Mapping[str, str]: ...


class LivePlan(Protocol):
    """What a kind's live baseline says of the comparison: its tables, those checksummed, a PITR's moment."""

    @property
    def tables(self) -> Sequence[str]: ...
    @property
    def checksummed(self) -> frozenset[str]: ...
    @property
    def restore_time(self) -> datetime | None: ...


def judge_against_live(baseline: LivePlan, live: DatabaseSeen, restored: DatabaseSeen, *, tolerance: float,
                       patterns: TableFilter, unusable: Mapping[str, str],
                       compared_nothing: Mapping[str, str] | None = None) -> list[CheckResult]:
    """One result per data spec of the live reference (the kind's data_specs), the live facts standing where a
    manifest's would: the table set, then per table its row count, checksum (where a stable condition selects its
    rows; `unusable` maps a table whose condition failed on the restored side to why, `compared_nothing` one
    whose condition selected no row on either side to why) and schema, then the database's other objects."""
    point_in_time = baseline.restore_time is not None
    results = [checks.table_set(set(selected_tables(patterns, restored)), set(selected_tables(patterns, live)))]
    for table in baseline.tables:
        got, want = restored.tables.get(table), live.tables.get(table)
        results.append(live_row_count(table, got.rows if got else None, want.rows if want else None, tolerance,
                                      point_in_time=point_in_time))
        if table in baseline.checksummed and table in unusable:
            results.append(CheckResult("checksum", table, False, None, want.checksum if want else None,
                                       f"{table}: its live.stable condition does not work on the restored table "
                                       f"({unusable[table]}); see its schema check"))
        elif table in baseline.checksummed and got and table in (compared_nothing or {}):
            results.append(not_compared("checksum", table, got.checksum, (compared_nothing or {})[table]))
        elif table in baseline.checksummed:
            results.append(checks.checksum(table, got.checksum if got else None,
                                           (want.checksum if want else None) or ""))
        elif point_in_time:
            results.append(not_compared("checksum", table, None, NOT_AS_OF_RESTORE))
        results.append(checks.schema(table, dict(got.schema_) if got else None, dict(want.schema_) if want else {}))
    results.append(checks.schema(DATABASE_SUBJECT, dict(restored.objects), dict(live.objects)))
    return results
