"""bench/run.py end to end on a small database: it runs, and prints every measure the README reports. Values are
not asserted (timings belong in the benchmark, not in tests; this machine is noisy), only that each is there
and is a measurement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
        assert set(ratios) == {"harness", "md5_text", "hash_record_numeric"}
        assert all(value > 0 for value in ratios.values())
    assert result["checksum_vs_count"] == by_table["bench_events"]["harness"]
    assert {"fetch", "provision", "restore", "verify", "teardown"} <= set(result["phases_s"])
    assert result["restore_overhead"] > 0 and result["verify_vs_restore"] > 0
    assert 0 < result["peak_rss_mb"]["3000"] < 1000
    assert result["sandbox_start_s"]["postgres"] > 0 and len(result["sandbox_start_s"]) >= 2  # and a redis
