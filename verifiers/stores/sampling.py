"""Bounded cost for very large tables (opt-in, issue 21): verify a table's checksum over some of its key ranges
instead of all its rows, and say in the evidence how likely that is to catch a difference.

A store's `sample = { rate = 0.05 }` applies to each table with at least `min_rows` rows in the manifest and key
ranges (verifiers/stores/key_ranges.py). Of its ranges, the run measures the two open-ended ones (empty at
capture: an index probe each, catching keys outside the captured span), every one whose rows or checksum
changed since the previous manifest of the same backups (the next older NAME-<stamp>.manifest.json beside this
one: a file source's folder; a manifest fetched from a bucket has none beside it), and a random `rate` share of
the others; the ranges line up from one manifest to the next because a capture cuts them on an aligned grid.
The row count stays exact (count(*) reads every row, but hashes nothing); only the checksum is sampled. Without
a previous manifest, or with ranges cut differently (the table about doubled), the sample is drawn from every
range, and the evidence says so.

The evidence states the chance of detecting `detect_fraction` (0.1% by default) of the table's rows changed, all
in ranges the sample was drawn from, twice: changed rows contiguous in key order (they fill at least as many
ranges as the fullest range's rows divide them into: exact hypergeometric odds for that many, the worst case),
and spread at random (the expected number of ranges they touch less two standard deviations: an estimate that
errs low). Both are rounded down; 100% only when certain.
"""

from __future__ import annotations

import logging
import math
import random
import re
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

    buckets: tuple[int, ...]  # measured: the two open-ended ones, the changed ones and the sample
    ranges: int  # all the table's ranges, with the two open-ended ones (below and above the captured keys)
    changed: int | None  # ranges changed since the previous manifest (all measured); None: not known
    pool: tuple[int, ...]  # what the sample was drawn from: the other ranges between the lowest and highest key
    sampled: int  # measured among the pool
    previous: str  # the previous manifest's file name, or why there was none to compare with


STAMPED = re.compile(r"(?P<name>.+)-\d{8}T\d{6}Z\.manifest\.json")


def previous_manifest(current: Path | None, load: Callable[[Path], M]) -> tuple[M | None, str]:
    """The next older manifest of the same backups beside `current` (NAME-<stamp>.manifest.json, by stamp) that
    loads, and its file name; or None and why not. Beside it means on disk: for a file source, the backups'
    own folder; a manifest fetched from a bucket is alone in its work folder, so it has none."""
    if current is None:
        return None, "no manifest file to look beside"
    named = STAMPED.fullmatch(current.name)
    if named is None:
        return None, f"{current.name} is not named NAME-<stamp>.manifest.json"
    older = sorted((p for p in current.parent.iterdir() if p.name < current.name
                    and (m := STAMPED.fullmatch(p.name)) is not None and m["name"] == named["name"]), reverse=True)
    for path in older:
        try:
            return load(path), path.name
        except RestoreproofError as exc:  # an unreadable old manifest is passed over, and the next one tried
            log.info("sample: passing over %s: %s", path.name, exc.describe())
    return None, f"no earlier {named['name']}-<stamp>.manifest.json beside {current.name}"


def choose(captured: KeyRanges, previous: KeyRanges | None, rate: float, previous_name: str,
           pick: Callable[[list[int], int], list[int]] = _random.sample) -> SampledTable:
    """The two open-ended ranges (empty at capture: an index probe each, catching keys outside the captured
    span), the ranges changed since the previous manifest (bounds and rows/checksum differ from its), and a
    `rate` share of the others, at least one."""
    edges = [0, captured.buckets + 1]
    inner = list(range(1, captured.buckets + 1))
    changed: list[int] | None
    if previous is None:
        changed = None
    elif _width(previous) != _width(captured):
        changed = None
        previous_name = f"{previous_name} cuts this table's key ranges differently"
    else:
        before = {previous.bounds(b): previous.ranges.get(b, (0, "")) for b in range(previous.buckets + 2)}
        changed = [b for b in inner if before.get(captured.bounds(b)) != captured.ranges.get(b, (0, ""))]
    known = set(changed or ())
    pool = [b for b in inner if b not in known]
    take = min(len(pool), max(1, math.ceil(rate * len(pool)))) if pool else 0
    sample = pick(pool, take)
    return SampledTable(buckets=tuple(sorted({*edges, *known, *sample})), ranges=captured.buckets + 2,
                        changed=None if changed is None else len(changed), pool=tuple(pool), sampled=len(sample),
                        previous=previous_name)


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


def misses(plan: SampledTable, captured: KeyRanges, rows: int, fraction: float) -> tuple[float, float]:
    """(spread at random, contiguous): the chance the sample misses `fraction` of the table's rows changed, all
    in the pool's ranges (a change in a changed range is always measured).

    Contiguous in key order, the changed rows fill at least ceil(m / the fullest range's rows) ranges: the miss
    chance for that many is exact and the worst case. Spread at random, they touch E = sum(1 - (1 - n_i/R)^m)
    ranges on average (n_i the rows of each, R their sum); the figure is for E less two standard deviations
    (sqrt(E) bounds one), so it understates the detection chance rather than overstate it."""
    counts = [captured.ranges.get(b, (0, ""))[0] for b in plan.pool]
    held = sum(counts)
    if not held:
        return 1.0, 1.0
    changed = min(held, max(1, math.ceil(fraction * rows)))
    contiguous = math.ceil(changed / max(counts))
    expected = sum(1 - (1 - n / held) ** changed for n in counts if n)
    spread = max(contiguous, math.floor(expected - 2 * math.sqrt(expected)))  # never fewer than contiguous
    return (miss_probability(len(plan.pool), spread, plan.sampled),
            miss_probability(len(plan.pool), contiguous, plan.sampled))


def detected(miss: float) -> float:
    """1 - miss as the evidence records it, to 6 digits rounded down; 1 only when certain (miss exactly 0)."""
    if miss == 0:
        return 1.0
    return min(math.floor((1 - miss) * 1e6) / 1e6, 0.999999)


def percent(miss: float) -> str:
    """A detection chance (from its miss chance) as the evidence states it: rounded down, so the claim never says
    more than what holds, to one decimal, or three from 99.9% on; 100% only when certain."""
    if miss == 0:
        return "100%"
    p = 1 - miss
    digits = 3 if p >= 0.999 else 1
    shown = min(math.floor(p * 100 * 10**digits) / 10**digits, 100 - 10**-digits)
    return f"{shown:.{digits}f}".rstrip("0").rstrip(".") + "%"


def sampled_checksum(subject: str, plan: SampledTable, captured: KeyRanges, restored: KeyRanges,
                     rows: int, fraction: float) -> CheckResult:
    """The checksum check of a sampled table: the measured ranges' rows and checksums against the manifest's."""
    measured = set(plan.buckets)
    want = captured.model_copy(update={"ranges": {b: v for b, v in captured.ranges.items() if b in measured}})
    got = restored.model_copy(update={"ranges": {b: v for b, v in restored.ranges.items() if b in measured}})
    random_miss, contiguous_miss = misses(plan, captured, rows, fraction)
    how = (f"{plan.changed} changed since {plan.previous}, {plan.sampled} of the other {len(plan.pool)} sampled"
           if plan.changed is not None else f"{plan.sampled} of {len(plan.pool)} sampled: {plan.previous}")
    observed = {"checksum": got.whole()[1], "ranges_measured": len(measured), "ranges_total": plan.ranges,
                "ranges_changed": plan.changed, "ranges_sampled": plan.sampled, "rows_measured": got.whole()[0],
                "detect_random": detected(random_miss), "detect_contiguous": detected(contiguous_miss)}
    expected = want.whole()[1]
    where = narrowed(want, got)
    if where:
        return CheckResult("checksum", subject, False, {**observed, **listed_ranges(differing_bounds(want, got))},
                           expected, f"checksum differs over {len(measured)} of {plan.ranges} key ranges ({how}); "
                           f"differs in {where}")
    share = f"{fraction * 100:.4f}".rstrip("0").rstrip(".") + "%"
    claim = (f"≥ {percent(random_miss)} chance of detecting ≥ {share} changed rows spread at random, "
             f"≥ {percent(contiguous_miss)} if they are contiguous in key order")
    return CheckResult("checksum", subject, True, observed, expected,
                       f"checksum equal over {len(measured)} of {plan.ranges} key ranges, {got.whole()[0]} rows "
                       f"({how}); {claim}")
