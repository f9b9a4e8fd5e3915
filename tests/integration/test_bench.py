"""bench/run.py end to end on a small database: it runs, and prints every measure docs/performance.md reports.
Values are not asserted (timings belong in the benchmark, not in tests; this machine is noisy), only that each
is there and is a measurement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_prints_every_measure() -> None:
    out = subprocess.run([sys.executable, "bench/run.py", "--rows", "3000"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert {"checksum_vs_count", "restore_overhead", "verify_vs_restore", "peak_rss_mb", "sandbox_start_s",
            "cli_help_s", "phases_s"} <= set(result)
    by_table = result["checksum_vs_count_by_table"]
    assert set(by_table) == {"bench_events", "bench_orders", "bench_blobs"}
    for ratios in by_table.values():
        assert set(ratios) == {"harness", "text_read", "md5_text", "hash_record_numeric"}
        assert all(value > 0 for value in ratios.values())
    assert result["checksum_vs_count"] == by_table["bench_events"]["harness"]
    assert_checksum_targets(result["checksum_targets"], by_table)
    for target in result["key_ranges_targets"].values():  # issue 21: per-range checksums against the whole table's
        assert target["key_ranges_vs_checksum"] > 0 and target["at_most"] == 1.5
        assert target["verdict"] in ("PASS", "OVER")
    assert_restore_by_mode(result["restore_by_mode"], postgres=result["postgres"])
    assert {"fetch", "provision", "restore", "verify", "teardown"} <= set(result["phases_s"])
    assert result["restore_overhead"] > 0 and result["verify_vs_restore"] > 0
    assert 0 < result["peak_rss_mb"]["3000"] < 1000
    assert result["sandbox_start_s"]["postgres"] > 0 and len(result["sandbox_start_s"]) >= 2  # and a redis


def assert_checksum_targets(targets: dict[str, Any], by_table: dict[str, dict[str, float]]) -> None:
    """Each table's two ratios, the target chosen by its column types (two tables have a jsonb column, one has
    scalars only) and a verdict that agrees with the ratio it names."""
    assert set(targets) == set(by_table)
    expected = {"bench_events": ("checksum_vs_text_read", 1.5), "bench_orders": ("checksum_vs_text_read", 1.5),
                "bench_blobs": ("checksum_vs_count", 2.0)}
    for table, target in targets.items():
        assert ("jsonb" in target["column_types"]) == (table != "bench_blobs")
        assert (target["target"]["ratio"], target["target"]["at_most"]) == expected[table]
        assert target["checksum_vs_count"] > 0 and target["checksum_vs_text_read"] > 0
        assert target["checksum_vs_count"] == by_table[table]["harness"]
        met = target[target["target"]["ratio"]] <= target["target"]["at_most"]
        assert target["verdict"] == ("PASS" if met else "OVER")
        assert set(target["fastest_ms"]) == {"count", "text_read", "harness", "key_ranges", "md5_text",
                                             "hash_record_numeric"}


def assert_restore_by_mode(by_mode: dict[str, Any], *, postgres: str) -> None:
    """Both modes' restore times and their ratio, on the bench's own installation, with the durability settings
    read back as they differ (off in the fast sandbox, the engine's default on in the production-like one)."""
    assert by_mode["postgres"] == postgres
    assert by_mode["fast_s"] > 0 and by_mode["production_like_s"] > 0 and by_mode["production_like_vs_fast"] > 0
    assert by_mode["statistic"].startswith("fastest of ")
    for name in ("fsync", "synchronous_commit", "full_page_writes"):
        assert by_mode["settings_differ"][name] == {"fast": "off", "production-like": "on"}
