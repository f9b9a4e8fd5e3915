"""MySQL mismatch localisation (issue 21): a changed row is narrowed to the key range holding it, naming keys
only; and MySQL's buckets are PostgreSQL's width_bucket ranges exactly (verifiers/stores/key_ranges.py), for any
integer keys, so a range's bounds in the message are the ones the server grouped by."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import failed
from tests.mysql_support import mysql_verify
from verifiers.stores import hash_ranges
from verifiers.stores.key_ranges import KeyRanges
from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.mysql.measure import key_hashes
from verifiers.stores.mysql.rowhash import format_checksum, key_ranges_sql, row_hash_sql, table_checksum_sql

pytestmark = pytest.mark.mysql
BIGINT = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def test_a_changed_row_is_narrowed_to_its_key_range(mysql_variant: Callable[..., Path]) -> None:
    artifact = mysql_variant("UPDATE users SET nickname = 'narrowed-by-range' WHERE id = 37")
    outcome = mysql_verify(artifact.parent, artifact.name)
    problems = failed(outcome)
    assert set(problems) == {"checksum:shop.users"}
    message = problems["checksum:shop.users"]
    found = re.search(r"; differs in id (\d+)\.\.(\d+) \((\d+) rows restored, (\d+) captured\)$", message)
    assert found, message
    first, last, restored, captured = map(int, found.groups())
    assert first <= 37 <= last and restored == captured <= last - first + 1  # ranges may hold keys not in use
    [check] = [c for c in outcome.checks if not c.passed]
    assert check.observed["ranges"] == [[first, last]]  # the evidence carries the range as data
    assert "narrowed-by-range" not in message


@pytest.fixture
def keys_table(mysql_source: MysqlServer) -> Iterator[Callable[[list[int]], None]]:
    conn = mysql_source.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS key_ranges_test")
        cur.execute("CREATE TABLE IF NOT EXISTS key_ranges_test.k (id BIGINT PRIMARY KEY)")

    def fill(keys: list[int]) -> None:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM key_ranges_test.k")
            cur.executemany("INSERT INTO key_ranges_test.k VALUES (%s)", [(k,) for k in keys])

    yield fill
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS key_ranges_test")
    conn.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(BIGINT, min_size=1, max_size=30, unique=True), bounds=st.tuples(BIGINT, BIGINT),
       buckets=st.integers(min_value=1, max_value=64))
def test_the_servers_buckets_are_the_documented_ranges(mysql_source: MysqlServer,
                                                        keys_table: Callable[[list[int]], None], keys: list[int],
                                                        bounds: tuple[int, int], buckets: int) -> None:
    low, high = min(bounds), max(bounds)
    like = KeyRanges(key="id", low=low, high=high, buckets=buckets, ranges={})
    keys_table(keys)
    conn = mysql_source.connect()
    with conn.cursor() as cur:
        cur.execute("SET SESSION div_precision_increment = 30")
        cur.execute(key_ranges_sql("key_ranges_test", "k", [("id", "bigint")], like))
        counted = {int(bucket): int(rows) for bucket, rows, _total in cur.fetchall()}
    conn.close()

    def bucket_of(key: int) -> int:
        for bucket in range(buckets + 2):
            first, last = like.bounds(bucket)
            if (first is None or first <= key) and (last is None or key <= last):
                return bucket
        raise AssertionError(f"no bucket holds {key}")

    assert counted == dict(Counter(bucket_of(k) for k in keys))


def test_a_composite_key_is_segmented_by_its_hash_and_a_change_lands_in_its_segment(
        mysql_source: MysqlServer) -> None:
    conn = mysql_source.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS key_hashes_test")
            cur.execute("DROP TABLE IF EXISTS key_hashes_test.t")
            cur.execute("CREATE TABLE key_hashes_test.t (tenant VARCHAR(20), id INT, v TEXT, PRIMARY KEY (tenant, id))")
            cur.executemany("INSERT INTO key_hashes_test.t VALUES (%s, %s, %s)",
                            [(f"tenant-{i % 7}", i, f"value {i}") for i in range(1, 1501)])
            columns = [("tenant", "varchar"), ("id", "int"), ("v", "text")]
            captured = key_hashes(cur, "key_hashes_test", "t", columns, segment_rows=100)
            assert captured is not None and captured.algorithm.startswith("key-hash: row hash of (tenant, id)")
            cur.execute(table_checksum_sql("key_hashes_test", "t", columns))
            found = cur.fetchone()
            assert found is not None
            rows, total = found
            assert captured.whole() == (rows, format_checksum(int(total)))  # the segments add up to the table
            cur.execute("UPDATE key_hashes_test.t SET v = 'changed' WHERE tenant = 'tenant-3' AND id = 745")
            restored = key_hashes(cur, "key_hashes_test", "t", columns, like=captured)
            [(first, last)] = hash_ranges.differing_bounds(captured, restored, label="key-hash")
            cur.execute(f"SELECT {row_hash_sql(columns[:2])} FROM key_hashes_test.t "  # noqa: S608
                        "WHERE tenant = 'tenant-3' AND id = 745")
            hashed = cur.fetchone()
            assert hashed is not None
            (key_hash,) = hashed
            assert int(first.removeprefix("key-hash "), 16) <= int(key_hash) <= int(last, 16)
            cur.execute("DROP DATABASE key_hashes_test")
    finally:
        conn.close()
