"""PostgreSQL mismatch localisation (issue 21): the server's buckets are the documented ranges
(verifiers/stores/key_ranges.py) for any BIGINT keys and bounds, the ranges add up to the whole-table count and
checksum, and any single changed value lands in exactly the range holding its key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from verifiers.stores import hash_ranges
from verifiers.stores.key_ranges import KeyRanges, differing_bounds
from verifiers.stores.postgres.checksum import key_hashes, key_ranges, pin_session, table_checksum
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = pytest.mark.postgres
BIGINT = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.fixture
def conn(source_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """A connection in a transaction (key_ranges sets its planner settings for the transaction only)."""
    with psycopg.connect(source_server.conninfo()) as connection:
        pin_session(connection)
        yield connection
        connection.rollback()


def fill(conn: psycopg.Connection[Any], keys: list[int]) -> None:
    conn.execute("DROP TABLE IF EXISTS public.key_ranges_k")
    conn.execute("CREATE TABLE public.key_ranges_k (id bigint PRIMARY KEY, v text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO public.key_ranges_k VALUES (%s, %s)", [(k, f"value {k}") for k in keys])


def bucket_of(like: KeyRanges, key: int) -> int:
    for bucket in range(like.buckets + 2):
        first, last = like.bounds(bucket)
        if (first is None or first <= key) and (last is None or key <= last):
            return bucket
    raise AssertionError(f"no bucket holds {key}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# width_bucket's numeric division rounded this key, just under the top of a range of 2^62 keys, into the next
@example(keys=[9_223_372_036_854_772_122], bounds=(0, 9_223_372_036_854_772_142), buckets=2, changed=0)
@given(keys=st.lists(BIGINT, min_size=1, max_size=30, unique=True), bounds=st.tuples(BIGINT, BIGINT),
       buckets=st.integers(min_value=1, max_value=64), changed=st.integers(min_value=0))
def test_a_single_changed_value_lands_in_exactly_its_range(conn: psycopg.Connection[Any], keys: list[int],
                                                           bounds: tuple[int, int], buckets: int,
                                                           changed: int) -> None:
    like = KeyRanges(key="id", low=min(bounds), high=max(bounds), buckets=buckets, ranges={})
    fill(conn, keys)
    captured = key_ranges(conn, "public", "key_ranges_k", "columns", like=like)
    assert captured is not None
    # the server grouped by the documented ranges, and the ranges add up to the whole table's count and checksum
    assert {b: n for b, (n, _) in captured.ranges.items()} == dict(Counter(bucket_of(like, k) for k in keys))
    assert captured.whole() == table_checksum(conn, "public", "key_ranges_k", "columns")
    key = keys[changed % len(keys)]
    conn.execute(sql.SQL("UPDATE public.key_ranges_k SET v = v || '!' WHERE id = {}").format(sql.Literal(key)))
    restored = key_ranges(conn, "public", "key_ranges_k", "columns", like=like)
    [(first, last)] = differing_bounds(captured, restored)
    assert (first is None or first <= key) and (last is None or key <= last)


def test_a_capture_sizes_the_ranges_by_rows(conn: psycopg.Connection[Any]) -> None:
    fill(conn, list(range(0, 50_000, 10)))  # 5,000 rows over a span of 49,991 keys
    found = key_ranges(conn, "public", "key_ranges_k", "columns", segment_rows=500)
    # never analysed: by the key span, 49,991 keys / 500 = 100 ranges wanted, 500 keys wide: 512, so 98 ranges
    assert found is not None and found.buckets == 98
    conn.execute("ANALYZE public.key_ranges_k")
    found = key_ranges(conn, "public", "key_ranges_k", "columns", segment_rows=500)
    # by the planner's estimate: 5,000 rows / 500 = 10 ranges wanted, 4,999 keys wide: 8,192, so 7 ranges
    assert found is not None and found.buckets == 7
    assert sorted(n for n, _ in found.ranges.values()) == [84, 819, 819, 819, 819, 820, 820]
    assert found.whole() == table_checksum(conn, "public", "key_ranges_k", "columns")


def test_a_composite_key_is_segmented_by_its_hash_and_a_change_lands_in_its_segment(
        conn: psycopg.Connection[Any]) -> None:
    conn.execute("DROP TABLE IF EXISTS public.key_hashes_t")
    conn.execute("CREATE TABLE public.key_hashes_t (tenant text, id int, v text, PRIMARY KEY (tenant, id))")
    conn.execute("INSERT INTO public.key_hashes_t SELECT 'tenant-' || (i % 7), i, 'value ' || i "
                 "FROM generate_series(1, 3000) i")
    captured = key_hashes(conn, "public", "key_hashes_t", "columns", segment_rows=100)
    assert captured is not None and captured.bits == 5  # 3,000 rows (counted: never analysed) / 100: 32 segments
    assert captured.algorithm.startswith("key-hash: hashtextextended(ROW(tenant, id)::text, 0)")
    assert captured.whole() == table_checksum(conn, "public", "key_hashes_t", "columns")  # one scan gives both
    conn.execute("UPDATE public.key_hashes_t SET v = 'changed' WHERE tenant = 'tenant-3' AND id = 1746")
    restored = key_hashes(conn, "public", "key_hashes_t", "columns", like=captured)
    [(first, last)] = hash_ranges.differing_bounds(captured, restored, label="key-hash")
    found = conn.execute("SELECT hashtextextended(ROW(tenant, id)::text, 0) FROM public.key_hashes_t "
                         "WHERE tenant = 'tenant-3' AND id = 1746").fetchone()
    assert found is not None
    unsigned = found[0] % (1 << 64)
    assert int(first.removeprefix("key-hash "), 16) <= unsigned <= int(last, 16)  # exactly the key's segment
    # a restore whose key differs is not narrowed against segments cut by another key
    conn.execute("ALTER TABLE public.key_hashes_t DROP CONSTRAINT key_hashes_t_pkey")
    assert key_hashes(conn, "public", "key_hashes_t", "columns", like=captured) is None
    unkeyed = key_hashes(conn, "public", "key_hashes_t", "columns", segment_rows=100)
    assert unkeyed is not None and unkeyed.algorithm.startswith("row-hash: ")  # no key: the whole row's hash
    assert unkeyed.whole() == table_checksum(conn, "public", "key_hashes_t", "columns")
