"""Checksum many tables at once: one connection per worker thread, each in a read-only repeatable-read
transaction that imports the caller's exported snapshot when there is one (capture), so every worker sees
exactly the data the dump sees.

Threads, not processes: the work happens in the server and psycopg releases the GIL while it waits, so a
thread per connection keeps every core busy; a pool library would add a dependency for a fixed-size,
short-lived set of connections we open and close around one measurement.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from verifiers.stores.hash_ranges import HashSegments
from verifiers.stores.key_ranges import KeyRanges
from verifiers.stores.postgres.checksum import (
    Method,
    key_hashes,
    key_ranges,
    pin_session,
    row_count,
    some_key_ranges,
    table_checksum,
)
from verifiers.stores.postgres.rowhash import format_checksum


@dataclass(frozen=True)
class Workers:
    conninfo: str
    count: int
    snapshot: str | None = None  # from pg_export_snapshot(); None in a sandbox nothing else writes to

    @classmethod
    def sized_to_cores(cls, conninfo: str, snapshot: str | None = None) -> Workers:
        return cls(conninfo=conninfo, count=max(1, len(os.sched_getaffinity(0))), snapshot=snapshot)


@dataclass(frozen=True)
class TableJob:
    name: str
    schema: str
    table: str
    method: Method
    live: bool = False  # the live reference's measure: count, and checksum only the rows `condition` selects
    condition: str | None = None
    segment_rows: int | None = None  # capture: rows and checksum per key range too, about this many rows each
    sample: tuple[KeyRanges, tuple[int, ...]] | None = None  # verify: the checksum of these captured ranges only


@dataclass(frozen=True)
class Measured:
    rows: int
    checksum: str
    key_ranges: KeyRanges | None = None
    key_hashes: HashSegments | None = None


def measure_table(conn: psycopg.Connection[Any], job: TableJob) -> Measured:
    """A table's count and checksum; with `segment_rows`, from its key ranges' in the same scan (or, for a table
    without a single-column integer key, its key-hash segments')."""
    if job.live and job.condition is None:  # a live table without a stable condition is counted, never hashed
        return Measured(row_count(conn, job.schema, job.table), format_checksum(0))
    if job.sample is not None:  # the count of every row; the checksum of the sampled ranges' rows only
        captured, buckets = job.sample
        some = some_key_ranges(conn, job.schema, job.table, job.method, captured, buckets)
        if some is not None:  # else the restore's key is not the captured one: every row, exactly
            return Measured(row_count(conn, job.schema, job.table), some.whole()[1], key_ranges=some)
    if job.segment_rows is not None and job.condition is None:
        ranges = key_ranges(conn, job.schema, job.table, job.method, segment_rows=job.segment_rows)
        if ranges is not None:
            return Measured(*ranges.whole(), key_ranges=ranges)
        hashes = key_hashes(conn, job.schema, job.table, job.method, segment_rows=job.segment_rows)
        if hashes is not None:
            return Measured(*hashes.whole(), key_hashes=hashes)
    return Measured(*table_checksum(conn, job.schema, job.table, job.method, where=job.condition))


def checksum_tables(workers: Workers, jobs: Sequence[TableJob],
                    on_table: Callable[[str], None] | None = None) -> dict[str, Measured]:
    """Row count and checksum of every job's table; jobs should come largest first. `on_table` hears each
    table's name as it is done, from the worker thread that did it (so it must be thread-safe)."""
    todo: queue.Queue[TableJob] = queue.Queue()
    for job in jobs:
        todo.put(job)
    results: dict[str, Measured] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            with psycopg.connect(workers.conninfo) as conn:
                _begin(conn, workers.snapshot)
                while True:
                    try:
                        job = todo.get_nowait()
                    except queue.Empty:
                        return
                    measured = measure_table(conn, job)
                    with lock:
                        results[job.name] = measured
                    if on_table is not None:
                        on_table(job.name)
        except BaseException as exc:  # handed to the caller's thread below, never swallowed
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"restoreproof-checksum-{i}")
               for i in range(min(workers.count, len(jobs)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _begin(conn: psycopg.Connection[Any], snapshot: str | None) -> None:
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    if snapshot is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    pin_session(conn)
