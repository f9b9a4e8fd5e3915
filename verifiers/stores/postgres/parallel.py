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

from verifiers.stores.postgres.checksum import Method, pin_session, row_count, table_checksum
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


def measure_table(conn: psycopg.Connection[Any], job: TableJob) -> tuple[int, str]:
    if job.live and job.condition is None:  # a live table without a stable condition is counted, never hashed
        return row_count(conn, job.schema, job.table), format_checksum(0)
    return table_checksum(conn, job.schema, job.table, job.method, where=job.condition)


def checksum_tables(workers: Workers, jobs: Sequence[TableJob],
                    on_table: Callable[[str], None] | None = None) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every job's table; jobs should come largest first. `on_table` hears each
    table's name as it is done, from the worker thread that did it (so it must be thread-safe)."""
    todo: queue.Queue[TableJob] = queue.Queue()
    for job in jobs:
        todo.put(job)
    results: dict[str, tuple[int, str]] = {}
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
