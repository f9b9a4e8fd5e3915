"""Narrowing a differing table down to key ranges, for every SQL kind (PostgreSQL, MySQL / MariaDB): at capture,
rows and checksum per range of the table's single-column integer primary key go into the manifest; after a
restore, a table whose count or checksum differs is measured per range again, and the ranges that differ are
named in the check's message — keys only, never row contents.

The ranges are those of PostgreSQL's width_bucket(key, low, high + 1, buckets): bucket 0 holds keys below `low`,
bucket `buckets + 1` keys above `high`, and bucket i the keys from low + ceil((i - 1) * w) to low + ceil(i * w)
- 1, w = (high + 1 - low) / buckets. Each kind computes the same buckets in its SQL.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RANGE_BUCKETS = 64
SHOWN = 10  # ranges named in a message; the count says how many more


class KeyRanges(BaseModel):
    """Rows and checksum per range of an integer primary key, so a mismatch can be narrowed to key ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    low: int
    high: int
    buckets: int = Field(ge=1)
    ranges: dict[int, tuple[int, str]] = Field(description="bucket -> (rows, checksum)")

    def bounds(self, bucket: int) -> tuple[int | None, int | None]:
        """Inclusive key bounds of a bucket, as width_bucket() draws them (None: open-ended)."""
        if bucket <= 0:
            return None, self.low - 1
        if bucket > self.buckets:
            return self.high + 1, None
        span = self.high + 1 - self.low  # integer ceilings: exact for any BIGINT keys, as the servers compute them

        def ceiling(i: int) -> int:
            return -(-i * span // self.buckets)

        return self.low + ceiling(bucket - 1), self.low + ceiling(bucket) - 1


def differing_ranges(captured: KeyRanges, restored: KeyRanges) -> list[tuple[int | None, int | None, int, int]]:
    """(first key, last key, rows restored, rows captured) of every range whose rows differ."""
    out = []
    for bucket in sorted(set(captured.ranges) | set(restored.ranges)):
        want, got = captured.ranges.get(bucket, (0, "")), restored.ranges.get(bucket, (0, ""))
        if want != got:
            first, last = captured.bounds(bucket)
            out.append((first, last, got[0], want[0]))
    return out


def differing_bounds(captured: KeyRanges | None, restored: KeyRanges | None) -> list[tuple[int | None, int | None]]:
    """[first key, last key] of every range whose rows differ (None where open-ended): the failed check's
    observed `ranges`."""
    if captured is None or restored is None:
        return []
    return [(first, last) for first, last, _got, _want in differing_ranges(captured, restored)]


def narrowed(captured: KeyRanges | None, restored: KeyRanges | None, limit: int = SHOWN) -> str | None:
    """`id 1..64 (63 rows restored, 64 captured); …`: where a differing table differs, keys only."""
    if captured is None or restored is None:
        return None
    ranges = differing_ranges(captured, restored)
    parts = [f"{captured.key} {'..' if first is None else first}{'' if first is None else '..'}"
             f"{'' if last is None else last} ({got} rows restored, {want} captured)"
             for first, last, got, want in ranges[:limit]]
    if len(ranges) > limit:
        parts.append(f"and {len(ranges) - limit} more ranges")
    return "; ".join(parts) or None
