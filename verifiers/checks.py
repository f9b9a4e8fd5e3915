"""Judgement, separate from measurement: facts against expectations -> CheckResult(passed, observed, expected).

Observed and expected values are counts, digests, durations and object definitions; never row contents. A check
with nothing to compare its observation with is recorded as not compared (not_compared): it fails nothing and
claims nothing, and its message says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from verifiers.durations import format_duration

Scalar = int | float | str | bool | None


class SequenceState(Protocol):
    @property
    def next_value(self) -> int: ...

    @property
    def increment(self) -> int: ...

    @property
    def column_max(self) -> int | None: ...

    @property
    def feeds(self) -> list[str]: ...

# What each check is called where people read it (the report), instead of its id: the evidence keeps the ids.
PLAIN_NAMES = {
    "artifact": "Backup file", "restore": "Restore", "engine": "Engine version", "tables": "Tables present",
    "row_count": "Row count", "checksum": "Content checksum", "schema": "Schema", "sequence": "Sequence position",
    "collections": "Collections present", "document_count": "Document count", "assertion": "Custom assertion",
    "rto": "Restore time (RTO)", "rpo": "Backup age (RPO)", "rpo_gap": "Gap between backups", "pitr_lag":
    "Point-in-time recovery lag", "corruption": "Corruption check", "self_test": "Self-test: the checks can fail",
    "canary": "Canary row", "gdpr": "Erasures hold", "migrate": "Migrations apply", "encryption": "Encryption",
    "retention": "Retention", "copy": "Off-site copy", "manual_copy": "Manual copy", "bucket": "Bucket access",
    "backup_jobs": "Backup jobs", "manifest": "Manifest of this snapshot", "backup_success": "Backup success rate",
    "configuration": "Backup configuration",
}


def plain_name(check: str) -> str:
    """A check's name in plain words (`row_count` -> `Row count`), for a reader who does not know the ids."""
    return PLAIN_NAMES.get(check, check.replace("_", " ").capitalize())


DATABASE_SUBJECT = "database"  # the schema check's subject for views, functions, types, sequences, extensions


@dataclass(frozen=True)
class CheckSpec:
    """One check the harness will judge for a store: known before the restore, from the manifest."""

    check: str
    subject: str

    @property
    def id(self) -> str:
        return f"{self.check}[{self.subject}]"


@dataclass(frozen=True)
class MissedBackup:
    day: str  # ISO date: the day, or a weekly schedule's first day
    status: str  # "missing" (no backup), or the status of the one that did not complete (FAILED, EXPIRED, ...)


@dataclass(frozen=True)
class ScheduledBackups:
    """What a backup success rate is counted from (the backup_success check), for the index to add up: the days
    (or weeks) from `first_day` to `last_day` a backup was scheduled, how many have a completed one, and those
    without, oldest first."""

    schedule: str  # daily | weekly
    first_day: str
    last_day: str
    scheduled: int
    completed: int
    missed: tuple[MissedBackup, ...]


@dataclass(frozen=True)
class CheckResult:
    check: str
    subject: str
    passed: bool
    observed: Any
    expected: Any
    message: str
    compared: bool = True  # False: observed only, nothing to compare it with (the message says why)
    scheduled_backups: ScheduledBackups | None = None  # backup_success only: the counts behind the rate

    @property
    def spec(self) -> CheckSpec:
        return CheckSpec(self.check, self.subject)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        if self.scheduled_backups is None:
            del found["scheduled_backups"]  # evidence written before the field, and every other check, lack it
        return found


def not_compared(check: str, subject: str, observed: Any, reason: str) -> CheckResult:
    """What was observed, recorded with the reason nothing was compared: it does not fail the store (`passed`),
    and the evidence, report and SOC 2 mapping claim nothing for it (`compared` false, no expected value)."""
    return CheckResult(check, subject, True, observed, None, f"not compared: {reason}", compared=False)


def equal(check: str, subject: str, observed: Scalar, expected: Scalar, *, what: str) -> CheckResult:
    passed = observed == expected
    message = f"{what} matches" if passed else f"{what} differs: restored {observed}, expected {expected}"
    return CheckResult(check, subject, passed, observed, expected, message)


def row_count(subject: str, observed: int | None, expected: int, tolerance: float) -> CheckResult:
    if observed is None:
        return CheckResult("row_count", subject, False, None, expected, f"{subject} is missing after restore")
    allowed = int(expected * tolerance)
    passed = abs(observed - expected) <= allowed
    # data, not a display string: the range the tolerance allows
    judged: Any = expected if not allowed else {"min": expected - allowed, "max": expected + allowed}
    if passed:
        message = f"{observed} rows" + ("" if observed == expected else f" (within ±{allowed} of {expected})")
    else:
        shown = expected if not allowed else f"{expected} ± {allowed}"
        message = f"{observed} rows restored, expected {shown} ({observed - expected:+d})"
    return CheckResult("row_count", subject, passed, observed, judged, message)


def checksum(subject: str, observed: str | None, expected: str, *, where: str | None = None,
             ranges: Sequence[tuple[int | str | None, int | str | None]] = ()) -> CheckResult:
    """`where` narrows a difference down (e.g. key ranges) in the message, and `ranges` (each [first key, last
    key], None where open-ended; or a key-hash range, ["key-hash 0x3c00…", "0x3fff…"]) in the observed value, as
    {"checksum": …, "ranges": […]}: keys or key hashes only, never row contents. At most RANGES_LISTED are;
    `ranges_not_listed` counts the rest."""
    if observed is None:
        return CheckResult("checksum", subject, False, None, expected, f"{subject} is missing after restore")
    result = equal("checksum", subject, observed, expected, what="checksum")
    if not result.passed and where:
        result = replace(result, message=f"{result.message}; differs in {where}")
    if not result.passed and ranges:
        result = replace(result, observed={"checksum": observed, **listed_ranges(ranges)})
    return result


RANGES_LISTED = 1000  # differing ranges an evidence record lists: a restore that differs everywhere stays readable


def listed_ranges(ranges: Sequence[tuple[int | str | None, int | str | None]]) -> dict[str, Any]:
    """`ranges` as evidence carries them: the first RANGES_LISTED, and how many more there are."""
    listed: dict[str, Any] = {"ranges": [[first, last] for first, last in ranges[:RANGES_LISTED]]}
    if len(ranges) > RANGES_LISTED:
        listed["ranges_not_listed"] = len(ranges) - RANGES_LISTED
    return listed


def table_set(observed: set[str], expected: set[str]) -> CheckResult:
    missing, unexpected = sorted(expected - observed), sorted(observed - expected)
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected: {', '.join(unexpected)}")
    message = "; ".join(problems) if problems else f"all {len(expected)} tables present, none unexpected"
    return CheckResult("tables", "tables", not problems, len(observed), len(expected), message)


def schema(subject: str, observed: Mapping[str, str] | None, expected: Mapping[str, str]) -> CheckResult:
    """Compare object definitions; each difference names the drifted object, e.g.
    `public.track.extra: column added`, `public.track: index track_name_idx dropped`."""
    if observed is None:
        return CheckResult("schema", subject, False, None, f"{len(expected)} objects",
                           f"{subject} is missing after restore")
    diffs = schema_diff(subject, observed, expected)
    message = "; ".join(diffs) if diffs else f"{len(expected)} objects match"
    return CheckResult("schema", subject, not diffs, diffs or f"{len(observed)} objects",
                       f"{len(expected)} objects", message)


def schema_diff(subject: str, observed: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    diffs: list[str] = []
    for key in sorted(set(observed) | set(expected)):
        before, after = expected.get(key), observed.get(key)
        if before == after:
            continue
        kind, _, name = key.partition(" ")
        if subject == DATABASE_SUBJECT:
            where = f"{name}: {kind}"
        elif kind == "column":
            where = f"{subject}.{name}: column"
        else:
            where = f"{subject}: {kind} {name}"
        if before is None:
            diffs.append(f"{where} added")
        elif after is None:
            diffs.append(f"{where} dropped")
        else:
            diffs.append(f"{where} changed (was: {_short(before)}; now: {_short(after)})")
    return diffs


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sequence(subject: str, observed: SequenceState | None, expected: SequenceState) -> CheckResult:
    """A restored sequence must not go back from the captured value (sequence state is read outside the
    snapshot, so ahead is fine) and must not be behind the columns it feeds (the next insert would collide)."""
    if observed is None:
        return CheckResult("sequence", subject, False, None, expected.next_value,
                           f"sequence {subject} is missing after restore")
    ascending = expected.increment > 0
    problems = []
    if (observed.next_value < expected.next_value) if ascending else (observed.next_value > expected.next_value):
        problems.append(f"next value {observed.next_value} restored, captured {expected.next_value}: it went back")
    if observed.column_max is not None and (
        observed.next_value <= observed.column_max if ascending else observed.next_value >= observed.column_max
    ):
        problems.append(f"behind {', '.join(observed.feeds)} max {observed.column_max}: the next insert would collide")
    message = "; ".join(problems) if problems else f"next value {observed.next_value}, not behind its data"
    return CheckResult("sequence", subject, not problems, observed.next_value, expected.next_value, message)


def assertion(name: str, observed: Scalar, *, expect: Scalar = None, minimum: float | None = None,
              maximum: float | None = None, error: str | None = None) -> CheckResult:
    expected = _assertion_expectation(expect, minimum, maximum)
    if error is not None:
        return CheckResult("assertion", name, False, None, expected, f"query failed: {error}")
    problems = []
    if expect is not None and _normal(observed) != _normal(expect):
        problems.append(f"returned {observed!r}, expected {expect!r}")
    number = observed if isinstance(observed, int | float) and not isinstance(observed, bool) else None
    if (minimum is not None or maximum is not None) and number is None:
        problems.append(f"returned {observed!r}, not a number to compare with {expected}")
    if number is not None and minimum is not None and number < minimum:
        problems.append(f"returned {number}, below the minimum {minimum:g}")
    if number is not None and maximum is not None and number > maximum:
        problems.append(f"returned {number}, above the maximum {maximum:g}")
    return CheckResult("assertion", name, not problems, observed, expected,
                       "; ".join(problems) if problems else f"returned {observed!r}")


def _normal(value: Scalar) -> Scalar:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _assertion_expectation(expect: Scalar, minimum: float | None, maximum: float | None) -> str:
    parts = []
    if expect is not None:
        parts.append(f"= {expect!r}")
    if minimum is not None:
        parts.append(f">= {minimum:g}")
    if maximum is not None:
        parts.append(f"<= {maximum:g}")
    return " and ".join(parts)


def within_target(check: str, seconds: float | None, target: float) -> CheckResult:
    label = {"rto": "restore time (RTO)", "rpo": "backup age (RPO)"}.get(check, check)
    if seconds is None:
        return CheckResult(check, check, False, None, round(target, 3), f"{label} was not measured")
    passed = seconds <= target
    verdict = "within" if passed else "over"
    message = f"{label} {format_duration(seconds)} is {verdict} the target {format_duration(target)}"
    return CheckResult(check, check, passed, round(seconds, 3), round(target, 3), message)


def members(check: str, subject: str, observed: set[str], expected: set[str], *, noun: str,
            optional: frozenset[str] = frozenset()) -> CheckResult:
    """A set of named things (tables, logical dbs): every expected one present, none unexpected; `optional`
    ones may be either."""
    missing, unexpected = sorted(expected - observed - optional), sorted(observed - expected - optional)
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected: {', '.join(unexpected)}")
    message = "; ".join(problems) if problems else f"all {len(expected)} {noun} present, none unexpected"
    return CheckResult(check, subject, not problems, sorted(observed), sorted(expected), message)


def histogram(check: str, subject: str, observed: Mapping[str, int] | None, expected: Mapping[str, int], *,
              may_lack: Mapping[str, int] | None = None, what: str = "count") -> CheckResult:
    """Counts by bucket (e.g. keys per type). A bucket passes when equal, or when up to `may_lack[bucket]`
    fewer (things that may legitimately be gone, e.g. expired keys); each differing bucket is named.
    Observed is the counts by bucket ({"keys": 13, "with_ttl": 0}); expected is each bucket's count, or the
    range it may fall in ({"min": 9, "max": 13}) where some may be gone."""
    lack = may_lack or {}
    wanted: dict[str, int | dict[str, int]] = {
        b: n if not lack.get(b) else {"min": max(n - lack[b], 0), "max": n} for b, n in sorted(expected.items())}
    if observed is None:
        return CheckResult(check, subject, False, None, wanted, f"{subject} is missing after restore")
    problems = []
    for bucket in sorted(set(observed) | set(expected)):
        got, want, slack = observed.get(bucket, 0), expected.get(bucket, 0), lack.get(bucket, 0)
        if not want - slack <= got <= want:
            problems.append(f"{bucket}: {got} restored, expected {_count_or_range(wanted.get(bucket, 0))} "
                            f"({got - want:+d})")
    if problems:
        message = f"{what} differs: " + "; ".join(problems)
    else:
        message = f"{what} matches: " + ", ".join(f"{b} {n}" for b, n in sorted(observed.items()))
    return CheckResult(check, subject, not problems, dict(sorted(observed.items())), wanted, message)


def _count_or_range(value: int | dict[str, int]) -> str:
    return f"{value['min']}..{value['max']}" if isinstance(value, dict) else str(value)


def digest(subject: str, observed: str | None, expected: str, *, what: str = "digest") -> CheckResult:
    if observed is None:
        return CheckResult("digest", subject, False, None, expected, f"{subject} is missing after restore")
    return equal("digest", subject, observed, expected, what=what)


def artifact(name: str, observed_sha256: str, expected_sha256: str, observed_bytes: int,
             expected_bytes: int) -> CheckResult:
    """The fetched file is the one its manifest describes (same sha256)."""
    if observed_sha256 != expected_sha256:
        return CheckResult("artifact", name, False, observed_sha256, expected_sha256,
                           f"{name}: sha256 differs from its manifest ({observed_bytes} bytes, manifest says "
                           f"{expected_bytes}): the file changed or is not the backup the manifest describes")
    return CheckResult("artifact", name, True, observed_sha256, expected_sha256,
                       f"{name}: sha256 matches the manifest ({observed_bytes} bytes)")
