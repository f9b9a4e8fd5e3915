"""Benchmark: how verification and restore compare with what they cannot beat, on one server, one run.

    python bench/run.py [--rows 2000000] [--rss-rows 20000000]

Prints one JSON object of ratios (see the README's Performance section for targets):
  checksum_vs_count   harness checksum of the largest table / SELECT count(*) on it (fastest of 7 turns each), with
                      the method a capture chooses; checksum_vs_count_by_table gives every table's, next to the
                      issue's reference approaches (data-diff's md5 of the row text; hash_record_extended summed
                      as numeric)
  restore_overhead    the harness's restore phase / plain `pg_restore -j <cores>` of the same dump
  verify_vs_restore   the harness's verify phase / its restore phase
  peak_rss_mb         the harness process's peak RSS verifying --rows rows (and --rss-rows if given)
  sandbox_start_s     median of 5 local sandbox starts: PostgreSQL (after a warm-up start that fills the
                      initdb template cache) and each Redis/Valkey found (until it answers)
  cli_help_s          median of 5 wall times of `restoreproof --help` in a fresh process (import time)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from verifiers.inventory import parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes.local_postgres import PgInstallation, PostgresServer, find_installations, local_postgres
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.checksum import hash_methods, pin_session, table_checksum
from verifiers.stores.postgres.restore import default_jobs

HERE = Path(__file__).resolve().parent


def best_of(n: int, fn: Any) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build(server: PostgresServer, rows: int) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    subprocess.run([str(server.installation.tool("psql")), "--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1",
                    "-v", f"rows={rows}", "-f", str(HERE / "build_db.sql")],
                   env=server.client_env("bench"), check=True)
    with psycopg.connect(server.conninfo("bench"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# The reference points, measured in the same run so that this machine's scale can be read off them:
# data-diff's md5 of the row text (first 15 hex digits as an integer, summed) and hash_record_extended summed as
# numeric; the target of 4 was set where they measured about 27 and 7.
REFERENCES = {
    "md5_text": "SELECT count(*), sum(('x' || substr(md5(r::text), 18))::bit(60)::bigint::numeric) FROM {} r",
    "hash_record_numeric": "SELECT count(*), sum(hash_record_extended(r, 0)::numeric) FROM {} r",
}


ROUNDS = 7


def checksum_vs_count(server: PostgresServer) -> dict[str, dict[str, float]]:
    """Per table: the harness's checksum (the method a capture chooses) / count(*), and each reference
    approach / count(*). The queries take turns for ROUNDS rounds and each keeps its fastest time: on a shared
    machine a slow spell then hits them all alike instead of whichever ran during it."""
    ratios: dict[str, dict[str, float]] = {}
    with psycopg.connect(server.conninfo("bench")) as conn:
        pin_session(conn)
        for table in ("bench_events", "bench_orders", "bench_blobs"):  # largest first
            oid = conn.execute("SELECT %s::regclass::oid", (f"public.{table}",)).fetchone()[0]  # type: ignore[index]
            method = hash_methods(conn, [oid])[oid]
            name = sql.Identifier("public", table)
            queries: dict[str, Callable[[], object]] = {
                "count": partial(conn.execute, sql.SQL("SELECT count(*) FROM {}").format(name)),
                "harness": partial(table_checksum, conn, "public", table, method),
                **{label: partial(conn.execute, sql.SQL(text).format(name)) for label, text in REFERENCES.items()},
            }
            fastest = dict.fromkeys(queries, float("inf"))
            for _ in range(ROUNDS):
                for label, run in queries.items():
                    fastest[label] = min(fastest[label], best_of(1, run))
            count = fastest.pop("count")
            ratios[table] = {label: round(seconds / count, 2) for label, seconds in fastest.items()}
    return ratios


def plain_restore(installation: PgInstallation, dump: Path) -> float:
    """`pg_restore -j <cores>` into a fresh sandbox of the same installation and settings as the harness's,
    so the ratio compares the restore work itself, not a cold server with a busy one."""
    with local_postgres(installation) as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE plain_restore")
        start = time.perf_counter()
        subprocess.run([str(server.installation.tool("pg_restore")), "--no-owner", "--no-privileges",
                        "-j", str(default_jobs()), "-d", "plain_restore", str(dump)],
                       env=server.client_env("plain_restore"), check=True)
        return time.perf_counter() - start


def harness(directory: Path) -> dict[str, float]:
    inventory = parse_inventory({"stores": [{"name": "bench", "kind": "postgres", "rto": "1d", "rpo": "1d",
                                              "source": {"type": "file", "path": "bench-*.dump"}}]},
                                directory / "inventory.toml")
    outcome = run_store(plan_store(inventory.stores[0], inventory.base_dir))
    if outcome.status != "passed":
        problems = outcome.error or [c.message for c in outcome.checks if not c.passed]
        raise SystemExit(f"benchmark store did not pass: {problems}")
    return dict(outcome.timer.seconds)


def rss_child(rows: int) -> float:
    """Peak RSS (MB) of a fresh process that builds, captures and verifies `rows` rows."""
    out = subprocess.run([sys.executable, __file__, "--rss-only", "--rows", str(rows)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def sandbox_start(runs: int = 5) -> float:
    """Median start of a PostgreSQL sandbox; the first start of an installation (which runs initdb and fills
    the template cache, see verifiers/sandboxes/pg_template.py) is a warm-up, not one of the runs."""
    installation = find_installations(None, None).found[0]
    with local_postgres(installation):
        pass
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with local_postgres(installation):
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def redis_start(runs: int = 5) -> dict[str, float]:
    """Median start of an empty Redis/Valkey sandbox per installation found (until it answers PING)."""
    from verifiers.sandboxes.local_redis import local_redis
    from verifiers.sandboxes.redis_installations import find_installations as find_redis

    medians: dict[str, float] = {}
    for installation in find_redis(None, None):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            with local_redis(installation):
                times.append(time.perf_counter() - start)
        medians[installation.label] = round(statistics.median(times), 3)
    return medians


def cli_help(runs: int = 5) -> float:
    """Median wall time of `restoreproof --help`: the CLI's whole start-up (interpreter, imports, parser)."""
    command = [sys.executable, "-c", "import sys; from verifiers.cli import main; sys.exit(main(['--help']))"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rss-rows", type=int, default=0, help="also measure peak RSS at this many rows")
    parser.add_argument("--rss-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    installation = find_installations(None, None).found[0]
    result: dict[str, Any] = {"rows": args.rows, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                              "postgres": installation.version}
    with tempfile.TemporaryDirectory(prefix="restoreproof-bench-") as tmp, local_postgres(installation) as server:
        build(server, args.rows)
        capture_postgres(server.conninfo("bench"), Path(tmp), name="bench")
        if args.rss_only:
            harness(Path(tmp))
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            return
        by_table = checksum_vs_count(server)
        result["checksum_vs_count"] = by_table["bench_events"]["harness"]
        result["checksum_vs_count_by_table"] = by_table
        dump = next(Path(tmp).glob("bench-*.dump"))
        # Each twice, alternating, best of two: other work on the machine otherwise decides the ratio.
        plain, harnessed = [], []
        for _ in range(2):
            plain.append(plain_restore(installation, dump))
            harnessed.append(harness(Path(tmp)))
        phases = min(harnessed, key=lambda p: p["restore"])
        phases["verify"] = min(p["verify"] for p in harnessed)
        plain_best = min(plain)
    result["restore_overhead"] = round(phases["restore"] / plain_best, 2)
    result["plain_pg_restore_s"] = round(plain_best, 2)
    result["verify_vs_restore"] = round(phases["verify"] / phases["restore"], 2)
    result["phases_s"] = {k: round(v, 2) for k, v in phases.items()}
    result["peak_rss_mb"] = {str(args.rows): round(rss_child(args.rows), 1)}
    if args.rss_rows:
        result["peak_rss_mb"][str(args.rss_rows)] = round(rss_child(args.rss_rows), 1)
    result["sandbox_start_s"] = {"postgres": round(sandbox_start(), 3), **redis_start()}
    result["cli_help_s"] = round(cli_help(), 3)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews ratios
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
