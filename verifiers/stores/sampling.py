"""Bounded cost for very large tables (opt-in, issue 21): verify a table's checksum over some of its key ranges
instead of all its rows, and say in the evidence how likely that is to catch a difference.

A store's `sample = { rate = 0.05 }` applies to each table with at least `min_rows` rows in the manifest and key
ranges (verifiers/stores/key_ranges.py). Of its ranges, every one whose rows or checksum changed since the
previous manifest of the same backups (the next older NAME-<stamp>.manifest.json beside this one) is measured,
and of the others a random `rate` share; the ranges line up from one manifest to the next because a capture
cuts them on an aligned grid. The row count stays exact (count(*) reads every row, but hashes nothing); only the
checksum is sampled. Without a previous manifest, or with ranges cut differently (the table about doubled),
every range is sampled at `rate`, and the evidence says so.

The detection probability is exact for sampling without replacement: if c of the N unchanged ranges hold a
changed row and k of them are measured, the run misses them all with probability C(N - c, k) / C(N, k). The
evidence states it for `detect_fraction` (0.1% by default) of the table's rows changed, twice: changed rows
spread at random over the table (c is the expected number of ranges they touch) and changed rows contiguous in
key order (the fewest ranges that can hold them: the worst case).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from verifiers.checks import CheckResult, listed_ranges
from verifiers.errors import RestoreproofError
from verifiers.stores.key_ranges import KeyRanges, differing_bounds, narrowed

log = logging.getLogger(__name__)
_random = random.SystemRandom()  # which ranges a run measures must not be predictable from outside
M = TypeVar("M")


class SampleSettings(BaseModel):
    """`sample = { rate = 0.05 }`: the checksum of very large tables over a share of their key ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(gt=0, lt=1, description="share of the unchanged key ranges measured, e.g. 0.05")
    min_rows: int = Field(default=1_000_000, ge=0, description="tables with fewer rows in the manifest are "
                          "verified exactly")
    detect_fraction: float = Field(default=0.001, gt=0, le=1, description="share of changed rows the evidence "
                                   "states the detection probability for (0.001: 0.1%)")


@dataclass(frozen=True)
class SampledTable:
    """Which key ranges of one table a run measures, and why."""

    buckets: tuple[int, ...]  # measured: the changed ones and the sample
    ranges: int  # all the table's ranges (with the two open-ended ones)
    changed: int  # ranges changed since the previous manifest (all measured); -1: not known
    sampled: int  # measured among the others
    previous: str  # the previous manifest's file name, or why there was none to compare with

    @property
    def unchanged(self) -> int:
        return self.ranges - max(self.changed, 0)


def previous_manifest(current: Path | None, load: Callable[[Path], M]) -> tuple[M | None, str]:
    """The next older manifest of the same backups beside `current` (NAME-<stamp>.manifest.json, by name) that
    loads, and its file name; or None and why not."""
    if current is None:
        return None, "no manifest file to look beside"
    prefix = current.name.rsplit("-", 1)[0] + "-"
    older = sorted((p for p in current.parent.glob(f"{prefix}*.manifest.json") if p.name < current.name),
                   reverse=True)
    for path in older:
        try:
            return load(path), path.name
        except RestoreproofError as exc:  # an unreadable old manifest is passed over, and the next one tried
            log.info("sample: passing over %s: %s", path.name, exc.describe())
    return None, f"no earlier {prefix}*.manifest.json beside {current.name}"


def choose(captured: KeyRanges, previous: KeyRanges | None, rate: float, previous_name: str,
           pick: Callable[[list[int], int], list[int]] = _random.sample) -> SampledTable:
    """The changed ranges (bounds and rows/checksum differ from the previous manifest's) and a `rate` share of
    the rest, at least one."""
    everything = list(range(captured.buckets + 2))
    if previous is None:
        changed: list[int] = []
        known = False
    elif _width(previous) != _width(captured):
        changed, known = [], False
        previous_name = f"{previous_name} cuts this table's key ranges differently"
    else:
        before = {previous.bounds(b): previous.ranges.get(b, (0, "")) for b in range(previous.buckets + 2)}
        changed = [b for b in everything if before.get(captured.bounds(b)) != captured.ranges.get(b, (0, ""))]
        known = True
    rest = [b for b in everything if b not in set(changed)]
    take = min(len(rest), max(1, math.ceil(rate * len(rest)))) if rest else 0
    sample = pick(rest, take)
    return SampledTable(buckets=tuple(sorted([*changed, *sample])), ranges=len(everything),
                        changed=len(changed) if known else -1, sampled=len(sample), previous=previous_name)


def _width(ranges: KeyRanges) -> int:
    return (ranges.high + 1 - ranges.low) // ranges.buckets


def plan_tables(settings: SampleSettings, tables: Mapping[str, tuple[int, KeyRanges | None]],
                previous: Mapping[str, KeyRanges | None] | None, previous_name: str) -> dict[str, SampledTable]:
    """Per table (name -> (rows, key ranges) in the manifest) at least `min_rows` rows with key ranges: what to
    measure. `previous` is the previous manifest's key ranges by table (None: there was none)."""
    planned = {}
    for name, (rows, ranges) in tables.items():
        if ranges is None or rows < settings.min_rows:
            continue
        before = previous.get(name) if previous is not None else None
        why = previous_name if previous is None or name in previous else f"{name} is not in {previous_name}"
        planned[name] = choose(ranges, before if before is not None and before.key == ranges.key else None,
                               settings.rate, why)
    return planned


def miss_probability(ranges: int, holding: int, measured: int) -> float:
    """The chance that `measured` ranges drawn without replacement from `ranges` miss all `holding` of them."""
    if holding <= 0:
        return 1.0
    if measured > ranges - holding:
        return 0.0
    return math.exp(math.lgamma(ranges - holding + 1) + math.lgamma(ranges - measured + 1)
                    - math.lgamma(ranges - holding - measured + 1) - math.lgamma(ranges + 1))


def detection(plan: SampledTable, captured: KeyRanges, rows: int, fraction: float) -> tuple[float, float]:
    """(spread at random, contiguous) chance that `fraction` of the table's rows changed, all of them in ranges
    that did not change since the previous manifest, makes a measured range differ."""
    changed_rows = max(1, math.ceil(fraction * rows))
    pool = plan.unchanged
    fullest = max((n for n, _ in captured.ranges.values()), default=1) or 1  # fewest ranges: the fullest ones
    spread = pool * (1 - (1 - 1 / pool) ** changed_rows) if pool else 0
    contiguous = math.ceil(changed_rows / fullest)
    return (1 - miss_probability(pool, max(1, math.floor(spread)), plan.sampled),
            1 - miss_probability(pool, min(pool, contiguous), plan.sampled))


def percent(p: float) -> str:
    """A probability as the evidence states it: rounded down, so the claim never says more than what holds, to
    one decimal, or three from 99.9% on (99.999%; 100% only when it is certain)."""
    digits = 3 if p >= 0.999 else 1
    shown = math.floor(p * 100 * 10**digits) / 10**digits
    return f"{shown:.{digits}f}".rstrip("0").rstrip(".") + "%"


def sampled_checksum(subject: str, plan: SampledTable, captured: KeyRanges, restored: KeyRanges | None,
                     rows: int, fraction: float) -> CheckResult:
    """The checksum check of a sampled table: the measured ranges' rows and checksums against the manifest's."""
    measured = set(plan.buckets)
    want = captured.model_copy(update={"ranges": {b: v for b, v in captured.ranges.items() if b in measured}})
    random_p, contiguous_p = detection(plan, captured, rows, fraction)
    how = (f"{plan.changed} changed since {plan.previous}, {plan.sampled} of the other {plan.unchanged} sampled"
           if plan.changed >= 0 else f"{plan.sampled} of {plan.ranges} sampled: {plan.previous}")
    expected = want.whole()[1]
    if restored is None:
        return CheckResult("checksum", subject, False, None, expected, f"{subject} is missing after restore")
    got = restored.model_copy(update={"ranges": {b: v for b, v in restored.ranges.items() if b in measured}})
    observed = {"checksum": got.whole()[1], "ranges_measured": len(measured), "ranges_total": plan.ranges,
                "ranges_changed": plan.changed, "ranges_sampled": plan.sampled,
                "detect_random": round(random_p, 6), "detect_contiguous": round(contiguous_p, 6)}
    where = narrowed(want, got)
    if where:
        return CheckResult("checksum", subject, False, {**observed, **listed_ranges(differing_bounds(want, got))},
                           expected, f"checksum differs over {len(measured)} of {plan.ranges} key ranges ({how}); "
                           f"differs in {where}")
    claim = (f"≥ {percent(random_p)} chance of detecting ≥ {percent(fraction)} changed rows spread at random, "
             f"≥ {percent(contiguous_p)} if they are contiguous in key order")
    return CheckResult("checksum", subject, True, observed, expected,
                       f"checksum equal over {len(measured)} of {plan.ranges} key ranges ({how}); {claim}")
