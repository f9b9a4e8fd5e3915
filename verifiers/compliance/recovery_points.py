"""The real RPO: the largest gap between consecutive recovery points over a window (a backup that failed for
three days last week is data loss the newest backup's age does not show), and for point-in-time recovery the
lag of the latest restorable time. Both are judged against the store's `rpo`.

Recovery points come from the source: the modification times of every artifact the file glob matches, the
LastModified of every matching S3 object, the creation times of RDS / Aurora snapshots (of every type the
source includes) and of DynamoDB backups.
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from verifiers.checks import CheckResult
from verifiers.durations import format_duration
from verifiers.errors import SourceError
from verifiers.extras import needed_by
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.store_settings import AnyStore, DynamoDbBackupSource, FileSource, RdsSnapshotSource, S3Source


@dataclass(frozen=True)
class Gap:
    start: datetime  # a recovery point (or the window's start, when there was none before it)
    end: datetime  # the next recovery point, or now
    to_now: bool  # the open gap since the newest point

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def largest_gap(points: Sequence[datetime], *, now: datetime, window: float) -> tuple[Gap, int]:
    """The largest gap between consecutive recovery points within [now - window, now], counting the open gap
    from the newest point to now, and the one from the last point before the window into it (that data loss
    overlaps the window). With no point at all, the whole window is the gap. Also: points in the window."""
    start = now - timedelta(seconds=window)
    inside = sorted(p for p in points if start <= p <= now)
    before = [p for p in points if p < start]
    chain = ([max(before)] if before else [] if inside else [start]) + inside
    gaps = [Gap(a, b, False) for a, b in itertools.pairwise(chain)]
    gaps.append(Gap(chain[-1], now, True))
    return max(gaps, key=lambda g: g.seconds), len(inside)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def judge_gap(points: Sequence[datetime], *, rpo: float, window: float, now: datetime, what: str) -> CheckResult:
    gap, count = largest_gap(points, now=now, window=window)
    passed = gap.seconds <= rpo
    span = f"from {_iso(gap.start)} to {'now' if gap.to_now else _iso(gap.end)}"
    verdict = "within" if passed else "OVER"
    message = (f"largest gap between recovery points over the last {format_duration(window)}: "
               f"{format_duration(gap.seconds)} ({span}), {verdict} the target {format_duration(rpo)}; "
               f"{count} {what} in the window")
    return CheckResult("rpo_gap", "rpo_gap", passed, round(gap.seconds, 3), round(rpo, 3), message)


def judge_pitr(latest_restorable: datetime | None, *, rpo: float, now: datetime, what: str) -> CheckResult:
    """Point-in-time recovery: how far behind now the latest restorable time is (None: PITR is off)."""
    if latest_restorable is None:
        return CheckResult("pitr_lag", "pitr_lag", False, None, round(rpo, 3),
                           f"{what}: point-in-time recovery is not enabled (no latest restorable time)")
    lag = max(0.0, (now - latest_restorable).total_seconds())
    passed = lag <= rpo
    message = (f"{what}: latest restorable time {_iso(latest_restorable)} lags {format_duration(lag)}, "
               f"{'within' if passed else 'OVER'} the target {format_duration(rpo)}")
    return CheckResult("pitr_lag", "pitr_lag", passed, round(lag, 3), round(rpo, 3), message)


def recovery_points(store: AnyStore, base_dir: Path) -> tuple[list[datetime], str]:
    """Every recovery point of the store's source, and what they are (for the message)."""
    source = store.source
    if isinstance(source, FileSource):
        return file_points(source, base_dir), "artifacts"
    if isinstance(source, S3Source | RdsSnapshotSource | DynamoDbBackupSource):
        with needed_by(f"store {store.name}: the recovery points of its {source.type} source"):
            from verifiers.compliance import aws_points
        return aws_points.recovery_points(source, store=store.name)
    raise SourceError(f"store {store.name}: {source.type} sources have no recovery points to measure gaps between",
                      hint="set hygiene.rpo_gap = false")


def file_points(source: FileSource, base_dir: Path) -> list[datetime]:
    pattern = Path(source.path) if Path(source.path).is_absolute() else base_dir / source.path
    return [datetime.fromtimestamp(Path(m).stat().st_mtime, tz=UTC)
            for m in glob.glob(str(pattern)) if not m.endswith(MANIFEST_SUFFIX)]


def latest_restorable(store: AnyStore) -> tuple[datetime | None, str]:
    """The latest restorable time of the source's instance, cluster or table (None: PITR off), and its name."""
    source = store.source
    if isinstance(source, RdsSnapshotSource | DynamoDbBackupSource):
        with needed_by(f"store {store.name}: the point-in-time recovery of its {source.type} source"):
            from verifiers.compliance import aws_points
        return aws_points.latest_restorable(source, store=store.name)
    raise SourceError(f"store {store.name}: {source.type} sources have no point-in-time recovery",
                      hint="set hygiene.pitr = false")
