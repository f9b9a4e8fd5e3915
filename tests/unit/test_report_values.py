"""Observed and expected values are data (counts by name are numbers, not "name: count" strings), and
report.html shows them as such: counts by name as their pairs, a list of names as the names, and "N differences"
only for a failed check's list of differences, never on a passing row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from verifiers import checks
from verifiers.checks import CheckResult
from verifiers.evidence import SCHEMA_PATH
from verifiers.evidence.report_html import check_detail_html, sandbox_cell, short_value
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome
from verifiers.timing import RestoreTimer


def outcome_with(result: CheckResult) -> StoreOutcome:
    inventory = parse_inventory({"stores": [{"name": "cache", "kind": "redis", "rto": "15m", "rpo": "1d",
                                             "source": {"type": "file", "path": "b/*.rdb"}}]}, Path("inv.toml"))
    status = "passed" if result.passed else "failed"
    return StoreOutcome(store=inventory.stores[0], status=status, checks=[result], timer=RestoreTimer())


def test_a_key_count_is_counts_by_name() -> None:
    result = checks.histogram("key_count", "db0", {"with_ttl": 0, "keys": 13}, {"keys": 13, "with_ttl": 0})
    assert result.passed
    assert result.observed == {"keys": 13, "with_ttl": 0} and result.expected == {"keys": 13, "with_ttl": 0}
    assert all(type(n) is int for n in [*result.observed.values(), *result.expected.values()])
    assert list(result.observed) == ["keys", "with_ttl"]  # sorted, as the message lists them


def test_a_passing_count_row_shows_its_pairs_and_no_differences() -> None:
    result = checks.histogram("key_count", "db0", {"keys": 13, "with_ttl": 0}, {"keys": 13, "with_ttl": 0})
    assert short_value("key_count", result.observed, passed=True) == "keys 13, with_ttl 0"
    detail = check_detail_html(outcome_with(result), result)
    assert detail.count("<code>keys 13, with_ttl 0</code>") == 2  # observed and expected
    assert "difference" not in detail


def test_a_range_of_counts_shows_as_its_bounds() -> None:
    result = checks.histogram("key_count", "db1", {"keys": 30, "with_ttl": 20}, {"keys": 50, "with_ttl": 40},
                              may_lack={"keys": 40, "with_ttl": 40})
    assert result.passed and result.expected == {"keys": {"min": 10, "max": 50}, "with_ttl": {"min": 0, "max": 40}}
    assert short_value("key_count", result.expected, passed=True) == "keys 10..50, with_ttl 0…"
    assert "<code>keys 10..50, with_ttl 0..40</code>" in check_detail_html(outcome_with(result), result)


def test_a_list_of_names_is_shown_as_the_names_passing_or_not() -> None:
    passing = checks.members("keyspace", "keyspace", {"db0", "db1"}, {"db0", "db1"}, noun="databases")
    assert short_value("keyspace", passing.observed, passed=True) == "db0, db1"
    failing = checks.members("keyspace", "keyspace", {"db0"}, {"db0", "db1"}, noun="databases")
    assert short_value("keyspace", failing.observed, passed=False) == "db0"
    detail = check_detail_html(outcome_with(failing), failing)
    assert "<code>db0, db1</code>" in detail and "difference" not in detail


def test_only_a_failed_checks_list_of_differences_is_counted_as_differences() -> None:
    result = checks.schema("public.t", {"column a": "#1 int", "column b": "#2 text"}, {"column a": "#1 bigint"})
    assert not result.passed and isinstance(result.observed, list) and len(result.observed) == 2
    assert short_value("schema", result.observed, passed=False) == "2 differences"
    assert "<td>2 differences</td>" in check_detail_html(outcome_with(result), result)
    assert short_value("schema", ["public.t.b: column added"], passed=False) == "1 difference"
    assert "difference" not in short_value("schema", ["public.t.b: column added"], passed=True)


def test_a_narrowed_checksum_shows_its_key_ranges() -> None:
    result = checks.checksum("public.t", "00ff00ff00ff00ff", "11ee11ee11ee11ee", where="id 1..64 (3 rows restored, "
                             "3 captured)", ranges=[(1, 64), (None, -1)])
    assert result.observed == {"checksum": "00ff00ff00ff00ff", "ranges": [[1, 64], [None, -1]]}
    detail = check_detail_html(outcome_with(result), result)
    assert "<code>checksum 00ff00ff00ff00ff, ranges 1..64, ..-1</code>" in detail
    assert checks.checksum("public.t", "00", "00", ranges=[(1, 2)]).observed == "00"  # a pass has no ranges


@pytest.mark.parametrize("value", [
    {"keys": 13, "with_ttl": 0},
    {"keys": {"min": 10, "max": 50}, "with_ttl": 40},
    ["db0", "db1"],
    {"checksum": "00ff00ff00ff00ff", "ranges": [[1493, 1515], [None, 5]]},
])
def test_the_evidence_schema_takes_typed_values(value: Any) -> None:
    check_schema = {"$defs": json.loads(SCHEMA_PATH.read_text())["$defs"], "$ref": "#/$defs/check"}
    record = {"check": "key_count", "subject": "db0", "passed": True, "observed": value, "expected": value,
              "message": "key count matches"}
    jsonschema.validate(record, check_schema)
    with pytest.raises(jsonschema.ValidationError):  # a range is its two bounds, nothing else nested
        jsonschema.validate({**record, "expected": {"keys": {"min": 1, "max": 2, "rows": "x"}}}, check_schema)


@pytest.mark.parametrize(("sandbox", "said"), [
    ({"engine": "postgresql", "version": "15.18", "mode": "fast",
      "settings": {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "wal_level": "minimal"}},
     "fast mode: durability off (fsync off, synchronous_commit off, full_page_writes off)"),
    ({"engine": "mariadb", "version": "10.11.19", "mode": "fast",
      "settings": {"innodb_flush_log_at_trx_commit": "0", "innodb_doublewrite": "OFF", "sync_binlog": "0"}},
     "fast mode: durability off (innodb_flush_log_at_trx_commit=0, innodb_doublewrite off, sync_binlog=0)"),
    ({"engine": "redis", "version": "7.0.15", "mode": "fast", "settings": {"save": "", "appendonly": "no"}},
     "fast mode: durability off (save=&quot;&quot;)"),
    ({"engine": "postgresql", "version": "18.6", "mode": "production-like", "settings": {"fsync": "on"}},
     "production-like mode: durable settings"),
])
def test_the_store_row_says_in_words_which_mode_measured_the_restore(sandbox: dict[str, object], said: str) -> None:
    cell = sandbox_cell(sandbox)
    assert said in cell, cell
    assert ("optimistic" in cell) == (sandbox["mode"] == "fast")


def test_the_store_row_says_what_a_server_that_is_not_its_engine_is() -> None:
    """mongoeco answers as MongoDB 7.0.0 but is not MongoDB: the report's sandbox cell says so beside its name."""
    cell = sandbox_cell({"type": "local", "engine": "mongoeco", "version": "4.11.0", "reports_mongodb_version": "7.0.0",
                         "server": "mongoeco 4.11.0 (MongoDB wire-protocol server in Python, not MongoDB)"})
    assert cell == ("mongoeco 4.11.0<div class='rp-dim'>mongoeco 4.11.0 (MongoDB wire-protocol server in Python, "
                    "not MongoDB)</div>")
    assert "rp-dim" not in sandbox_cell({"engine": "postgresql", "version": "18.6"})
