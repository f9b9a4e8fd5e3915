"""Narrowing a differing table down to key ranges, for every SQL kind (PostgreSQL, MySQL / MariaDB): at capture,
rows and checksum per range (segment) of the table's single-column integer primary key go into the manifest;
after a restore, a table whose count or checksum differs is measured per range again, and the ranges that differ
are named in the check's message and the evidence — keys only, never row contents.

A capture sizes the ranges to about `segment_rows` rows each (1,000 by default; `restoreproof capture postgres
--segment-rows N`) from the table's estimated row count, at most MAX_SEGMENTS per table (`layout`: power-of-two
widths on an aligned grid, so ranges line up from one month's manifest to the next), and computes the
whole-table count and checksum from the ranges' (`KeyRanges.whole`): one scan per table, not two. A verify
measures the whole table only, and the ranges again only for a table that differs.

The ranges are those of PostgreSQL's width_bucket(key, low, high + 1, buckets): bucket 0 holds keys below `low`,
bucket `buckets + 1` keys above `high`, and bucket i the keys from low + ceil((i - 1) * w) to low + ceil(i * w)
- 1, w = (high + 1 - low) / buckets. Each kind computes the same buckets in its SQL.
"""

from __future__ import annotations

from typing import Protocol, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from verifiers.errors import CaptureError
from verifiers.stores import hash_ranges
from verifiers.stores.hash_ranges import HashSegments

DEFAULT_SEGMENT_ROWS = 1000
MAX_SEGMENTS = 100_000  # ~3 MB of manifest per table at most; a table of more rows gets longer ranges
MOD64 = 1 << 64
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

    def whole(self) -> tuple[int, str]:
        """The whole table's row count and checksum, from its ranges': a checksum is a sum modulo 2^64 of row
        terms in both kinds (PostgreSQL's and MySQL's rowhash.format_checksum), so the ranges' add up to it."""
        rows = sum(n for n, _ in self.ranges.values())
        return rows, f"{sum(int(checksum, 16) for _, checksum in self.ranges.values()) % MOD64:016x}"


def check_segment_rows(kind: str, segment_rows: int) -> None:
    """A capture's --segment-rows, refused before anything is read or written."""
    if segment_rows < 1:
        raise CaptureError(f"capture {kind}: --segment-rows {segment_rows} is not a number of rows",
                           hint=f"give a whole number of at least 1 (default {DEFAULT_SEGMENT_ROWS})")


def layout(key: str, estimated_rows: int | None, low: int, high: int,
           segment_rows: int = DEFAULT_SEGMENT_ROWS) -> KeyRanges:
    """The ranges a capture cuts keys low..high into (no rows measured yet): about `segment_rows` rows each by
    the server's row estimate (the key span when there is none, as for a never-analysed table), at most
    MAX_SEGMENTS. Each range is a power of two of keys wide and starts at a multiple of its width, so next month's
    capture cuts the same ranges as long as the width is the same (until the table about doubles): a range's
    bounds name it across manifests (what `sample` compares, verifiers/stores/sampling.py)."""
    if segment_rows < 1:
        raise ValueError(f"segment_rows must be at least 1, not {segment_rows}")
    span = high + 1 - low
    rows = estimated_rows if estimated_rows is not None and estimated_rows > 0 else span
    wanted = max(1, min(-(-rows // segment_rows), span, MAX_SEGMENTS))
    width = 1 << max(0, (-(-span // wanted) - 1).bit_length())  # the power of two at least span / wanted
    while -(-(high + 1 - (low // width) * width) // width) > MAX_SEGMENTS:  # alignment added a range
        width <<= 1
    start = (low // width) * width
    buckets = -(-(high + 1 - start) // width)
    return KeyRanges(key=key, low=start, high=start + buckets * width - 1, buckets=buckets, ranges={})


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


class Narrowable(Protocol):
    """A table's facts as SQL kinds keep them: key ranges, or key-hash segments for a table without an integer
    key."""

    @property
    def key_ranges(self) -> KeyRanges | None: ...

    @property
    def key_hashes(self) -> HashSegments | None: ...


class Narrowing(TypedDict):
    where: str | None
    ranges: list[tuple[int | str | None, int | str | None]]


def narrowing(want: Narrowable, got: Narrowable | None) -> Narrowing:
    """Where a differing table differs, by key range or by key-hash segment: checks.checksum's `where` and
    `ranges`."""
    if want.key_hashes is not None:
        hashes, label = got.key_hashes if got else None, want.key_hashes.label
        return {"where": hash_ranges.narrowed(want.key_hashes, hashes, label=label, noun="rows"),
                "ranges": list(hash_ranges.differing_bounds(want.key_hashes, hashes, label=label))}
    restored = got.key_ranges if got else None
    return {"where": narrowed(want.key_ranges, restored),
            "ranges": list(differing_bounds(want.key_ranges, restored))}
