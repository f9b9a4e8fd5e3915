"""Sampling a very large table's checksum (issue 21, item 5): which ranges a run measures, and the detection
probability the evidence states, held to exact combinatorics."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.errors import ManifestError
from verifiers.stores.key_ranges import KeyRanges, layout
from verifiers.stores.sampling import (
    SampledTable,
    choose,
    detected,
    miss_probability,
    misses,
    percent,
    previous_manifest,
    sampled_checksum,
)


def captured(rows_per_range: int = 1000, buckets: int = 100, changed: dict[int, str] | None = None) -> KeyRanges:
    cut = layout("id", rows_per_range * buckets, 0, rows_per_range * buckets - 1, rows_per_range)
    ranges = {b: (rows_per_range, f"{b:016x}") for b in range(1, cut.buckets + 1)}
    ranges.update({b: (rows_per_range, checksum) for b, checksum in (changed or {}).items()})
    return cut.model_copy(update={"ranges": ranges})


def first(items: list[int], k: int) -> list[int]:
    return items[:k]


def test_ranges_changed_since_the_previous_manifest_are_always_measured() -> None:
    january, february = captured(1024), captured(1024, changed={7: "ffffffffffffffff"})
    plan = choose(february, january, 0.05, "saas-20261101T000000Z.manifest.json", pick=first)
    assert plan.changed == 1 and 7 in plan.buckets and 7 not in plan.pool
    assert plan.ranges == february.buckets + 2  # with the open-ended ranges below and above the keys
    assert len(plan.pool) == february.buckets - 1 and plan.sampled == math.ceil(0.05 * len(plan.pool))
    # the open-ended ranges (an index probe each), the changed one and the sample
    assert {0, february.buckets + 1} <= set(plan.buckets) and len(plan.buckets) == 2 + 1 + plan.sampled


def test_without_a_comparable_previous_manifest_every_range_is_sampled() -> None:
    alone = choose(captured(1024), None, 0.1, "no earlier saas-<stamp>.manifest.json beside x", pick=first)
    assert alone.changed is None and alone.sampled == math.ceil(0.1 * 100) and len(alone.pool) == 100
    doubled = layout("id", 100_000, 0, 204_799, 2048)  # the table about doubled: ranges twice as wide
    recut = choose(captured(1024), doubled.model_copy(update={"ranges": {}}), 0.1, "saas-old.manifest.json",
                   pick=first)
    assert recut.changed is None and "cuts this table's key ranges differently" in recut.previous


@given(ranges=st.integers(1, 40), holding=st.integers(0, 40), measured=st.integers(0, 40))
def test_the_miss_probability_is_the_exact_hypergeometric_one(ranges: int, holding: int, measured: int) -> None:
    holding, measured = min(holding, ranges), min(measured, ranges)
    exact = math.comb(ranges - holding, measured) / math.comb(ranges, measured)
    assert miss_probability(ranges, holding, measured) == pytest.approx(exact, abs=1e-12)


def test_the_stated_detection_probability() -> None:
    table = captured(1000, 2000)  # 2,000,000 rows in ranges of 1,024 keys
    pool = tuple(range(1, 1955))
    plan = SampledTable(buckets=(0, *range(1, 101), 2001), ranges=table.buckets + 2, changed=0, pool=pool,
                        sampled=100, previous="saas-old.manifest.json")
    spread, contiguous = misses(plan, table, 2_000_000, 0.001)
    # 2,000 changed rows at random touch ~1,270 of the 1,954 ranges (less two deviations): 100 cannot miss them
    assert spread < 1e-12 and detected(spread) == 0.999999 and percent(spread) == "99.999%"
    # 2,000 contiguous rows fill as few as 2 ranges: 100 of 1,954 catch one of them with 1 - C(1952,100)/C(1954,100)
    exact = math.comb(len(pool) - 2, 100) / math.comb(len(pool), 100)
    assert contiguous == pytest.approx(exact) and 0.09 < 1 - contiguous < 0.11


def test_uneven_ranges_do_not_inflate_the_random_figure() -> None:
    """A pool of mostly empty ranges: the changed rows can only be in the few full ones."""
    table = captured(1024, 1000)
    full = set(range(1, 1001, 10))  # 100 ranges of 10,000 rows, the other 900 empty
    table = table.model_copy(update={"ranges": {b: (10_000 if b in full else 0, "0" * 16) for b in range(1, 1001)}})
    plan = SampledTable(buckets=(), ranges=1002, changed=None, pool=tuple(range(1, 1001)), sampled=10,
                        previous="none")
    spread, _ = misses(plan, table, 1_000_000, 0.0001)  # 100 rows: touch ~63 of the 100 full ranges
    rng = random.Random(7)  # Monte Carlo: which ranges 100 random changed rows touch, and a sample of 10
    rows = [b for b in sorted(full) for _ in range(10_000)]
    missed = sum(not set(rng.sample(rows, 100)) & set(rng.sample(range(1, 1001), 10)) for _ in range(2000)) / 2000
    assert 1 - spread <= 1 - missed + 0.03  # the stated chance is not above what happens


def test_probabilities_are_stated_rounded_down_and_never_100_unless_certain() -> None:
    assert percent(0.00001) == "99.999%" and percent(0.0005) == "99.95%" and percent(0.999) == "0.1%"
    assert percent(1e-17) == "99.999%" and percent(0.0) == "100%"
    assert percent(0.9025) == "9.7%" and detected(1e-17) == 0.999999 and detected(0.0) == 1.0


def test_a_sampled_checksum_names_the_differing_range_and_states_its_chance() -> None:
    table = captured(1024, 50)
    plan = SampledTable(buckets=(0, 3, 9, 51), ranges=52, changed=1, pool=tuple(b for b in range(1, 51) if b != 3),
                        sampled=1, previous="saas-old.manifest.json")
    same = sampled_checksum("public.events", plan, table, table, 51_200, 0.001)
    assert same.passed and same.message.startswith("checksum equal over 4 of 52 key ranges, 2048 rows (1 changed "
                                                   "since saas-old.manifest.json, 1 of the other 49 sampled); ≥ ")
    assert same.observed["ranges_measured"] == 4 and same.observed["rows_measured"] == 2048
    assert set(same.observed) == {"checksum", "ranges_measured", "ranges_total", "ranges_changed", "ranges_sampled",
                                  "rows_measured", "detect_random", "detect_contiguous"}
    broken = table.model_copy(update={"ranges": {**table.ranges, 9: (1023, "0000000000000000")}})
    differs = sampled_checksum("public.events", plan, table, broken, 51_200, 0.001)
    assert not differs.passed and differs.message.endswith("; differs in id 8192..9215 (1023 rows restored, "
                                                           "1024 captured)")
    assert differs.observed["ranges"] == [[8192, 9215]]
    unmeasured = table.model_copy(update={"ranges": {**table.ranges, 20: (1, "0000000000000000")}})
    assert sampled_checksum("public.events", plan, table, unmeasured, 51_200, 0.001).passed  # not measured
    outside = table.model_copy(update={"ranges": {**table.ranges, 51: (1, "0000000000000001")}})
    assert not sampled_checksum("public.events", plan, table, outside, 51_200, 0.001).passed  # a key above all


def test_the_previous_manifest_is_the_next_older_one_that_loads(tmp_path: Path) -> None:
    for name in ("saas-20261001T000000Z", "saas-20261101T000000Z", "saas-20261115T000000Z",
                 "saas-20261201T000000Z", "other-20261130T000000Z", "saas-1-20261130T000000Z"):
        (tmp_path / f"{name}.manifest.json").write_text(name)

    def load(path: Path) -> str:
        if "1115" in path.name:
            raise ManifestError(f"{path.name}: not a manifest")
        return path.read_text()

    found, name = previous_manifest(tmp_path / "saas-20261201T000000Z.manifest.json", load)
    assert found == "saas-20261101T000000Z" and name == "saas-20261101T000000Z.manifest.json"
    assert previous_manifest(tmp_path / "saas-20261001T000000Z.manifest.json", load)[0] is None
