"""The live database as the reference (the second kind, after a manifest captured with the backup), for a backup
nobody captured a manifest with: an automated RDS snapshot, a dump another tool takes.

Production moved on since the backup, so the comparison is looser than against a manifest and says so:
- every table of the live database must be restored, with the same schema (a migration since the backup shows
  as drift: it is what restoring this backup would give you);
- each table's row count within `live.row_count_tolerance` of the live count;
- a checksum only for the tables `live.stable` names, over the rows its condition selects on both sides
  (e.g. `created_at < {backup_time}`: rows that cannot have changed since the backup); other tables are
  counted only, never hashed, so the live server does no more work than it must;
- no sequence checks (live sequences have moved on).

A point-in-time restore (an rds-snapshot source's `restore_to`) is compared the same way as of its restore time:
`{restore_time}` in a stable condition is `current_setting('restoreproof.restore_time')::timestamptz`, the value
set on every connection (live and restored, the checksum workers' too) as a connection option, never formatted
into the SQL; a table without a condition gets a `checksum` "not compared" (its rows written after the restore
time cannot be told apart from older ones), not a pass.

The live database is read in read-only transactions on one connection, one table at a time: it is production
(or its replica), and a verification must not compete with it. Its DSN comes from the environment variable the
inventory names, never from the inventory, and never appears in a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec, not_compared
from verifiers.errors import ManifestError, SandboxError
from verifiers.sources import Artifact
from verifiers.stores.base import ENGINE_SPEC, selected_tables
from verifiers.stores.live_reference import judge_against_live
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.checksum import Method, hash_methods, pin_session
from verifiers.stores.postgres.compare import measure_conninfo
from verifiers.stores.postgres.facts import DatabaseFacts
from verifiers.stores.postgres.measure import TABLES_SQL, measure_database, qualified
from verifiers.stores.postgres.restore import redact
from verifiers.stores.postgres.settings import BACKUP_TIME, RESTORE_TIME, LiveReference, PostgresStore
from verifiers.timing import UNTIMED, StepClock

CONNECT_TIMEOUT_SECONDS = 30
RESTORE_TIME_SETTING = "restoreproof.restore_time"
RESTORE_TIME_SQL = f"current_setting('{RESTORE_TIME_SETTING}')::timestamptz"


@dataclass(frozen=True)
class LiveBaseline:
    """What a plan keeps in place of a manifest: what the live database held when the checks were listed."""

    dsn_env: str
    captured_at: datetime  # the backup's time: the RPO's reference and {backup_time}
    tables: tuple[str, ...]  # the selected live tables, largest first
    stable: dict[str, str]  # table -> condition, {backup_time} replaced by a literal
    methods: dict[str, Method]  # the row hash of each table, as the live server would capture it
    encoding: str
    checksummed: frozenset[str] = field(default_factory=frozenset)
    restore_time: datetime | None = None  # a point-in-time restore's moment: {restore_time} of the conditions


def live_conninfo(store: PostgresStore) -> str:
    live = _settings(store)
    dsn = os.environ.get(live.dsn_env, "").strip()
    if not dsn:
        raise ManifestError(f"store {store.name}: the backup has no manifest and the live database's DSN is not "
                            f"set (env {live.dsn_env})",
                            hint=f"export {live.dsn_env}=<libpq DSN of the live database or a read replica>, or "
                            "capture a manifest with the backup (`restoreproof capture postgres`)")
    return dsn


def read_baseline(store: PostgresStore, backup_time: datetime, *, point_in_time: bool = False) -> LiveBaseline:
    """At plan time: the live tables (catalog only, no scan), each one's row hash, and the stable conditions,
    checked to name live tables and to parse there. `point_in_time`: `backup_time` is a point-in-time restore's
    moment, bound as {restore_time}."""
    live = _settings(store)
    try:
        return _read_baseline(store, live, backup_time, backup_time if point_in_time else None)
    except psycopg.Error as exc:
        raise ManifestError(f"store {store.name}: cannot read the live database's catalog (env {live.dsn_env}): "
                            f"{redact(str(exc).strip().splitlines()[0])}",
                            hint="the live user needs CONNECT and USAGE on the schemas") from None


def _read_baseline(store: PostgresStore, live: LiveReference, backup_time: datetime,
                   restore_time: datetime | None) -> LiveBaseline:
    with _connect(store, restore_time) as conn:
        conn.read_only = True
        pin_session(conn)
        rows = conn.execute(TABLES_SQL).fetchall()
        names = {row[0]: qualified(row[1], row[2]) for row in rows}
        chosen = hash_methods(conn, list(names))
        found = conn.execute("SELECT pg_encoding_to_char(encoding) FROM pg_database "
                             "WHERE datname = current_database()").fetchone()
        assert found is not None
        stable = {table: condition.replace(BACKUP_TIME, sql.Literal(backup_time).as_string(conn))
                  for table, condition in live.stable.items()}
        if restore_time is not None:
            stable = {table: condition.replace(RESTORE_TIME, RESTORE_TIME_SQL) for table, condition in stable.items()}
        elif any(RESTORE_TIME in condition for condition in stable.values()):
            raise ManifestError(f"store {store.name}: live.stable uses {RESTORE_TIME}, which only a point-in-time "
                                "restore has", hint=f"use {BACKUP_TIME} for a snapshot or dump, or set "
                                "stores.source.restore_to")
        unknown = sorted(set(stable) - set(names.values()))
        if unknown:
            raise ManifestError(f"store {store.name}: live.stable names {', '.join(unknown)}, not a table of the "
                                f"live database (env {live.dsn_env})",
                                hint="name tables as schema.table, as the live database has them")
        for table, condition in stable.items():
            _check_condition(conn, store, table, condition)
        conn.rollback()
    chosen_tables = set(selected_tables(store.tables, _Names(dict.fromkeys(names.values()))))
    selected = tuple(t for t in names.values() if t in chosen_tables)  # largest first, as listed
    return LiveBaseline(dsn_env=live.dsn_env, captured_at=backup_time, tables=selected, stable=stable,
                        methods={names[oid]: method for oid, method in chosen.items()}, encoding=str(found[0]),
                        checksummed=frozenset(stable) & frozenset(selected), restore_time=restore_time)


def data_specs(baseline: LiveBaseline) -> list[CheckSpec]:
    specs = [CheckSpec("tables", "tables")]
    for table in baseline.tables:
        specs.append(CheckSpec("row_count", table))
        if table in baseline.checksummed or baseline.restore_time is not None:
            specs.append(CheckSpec("checksum", table))
        specs.append(CheckSpec("schema", table))
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    return specs


def plan_specs(store: PostgresStore, baseline: LiveBaseline) -> list[CheckSpec]:
    """The checks of a dump without a manifest: the live database's tables, as of now."""
    return [ENGINE_SPEC, *data_specs(baseline), *([corruption.SPEC] if store.amcheck else []),
            *(CheckSpec("assertion", a.name) for a in store.assertions)]


def artifact_check(artifact: Artifact) -> CheckResult:
    """Without a manifest the backup's hash is recorded for the evidence, as not compared: nothing to compare it
    with."""
    name = Path(artifact.location).name
    return not_compared("artifact", name, artifact.sha256,
                        f"no manifest to compare it with (the live database is the reference); {name}: sha256 "
                        f"recorded ({artifact.bytes} bytes)")


def measure_live(store: PostgresStore, baseline: LiveBaseline) -> DatabaseFacts:
    """The live database now: one read-only repeatable-read transaction on one connection."""
    try:
        with _connect(store, baseline.restore_time) as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            facts = measure_database(conn, methods=baseline.methods, sequences={}, stable=baseline.stable)
            conn.rollback()
            return facts
    except psycopg.Error as exc:
        raise SandboxError(f"store {store.name}: could not measure the live database (env {baseline.dsn_env}): "
                           f"{redact(str(exc).strip().splitlines()[0])}",
                           hint="check the live database is reachable and its user may SELECT every table") from None


def verify_restored(conninfo: str, store: PostgresStore, baseline: LiveBaseline,
                    steps: StepClock = UNTIMED) -> list[CheckResult]:
    """Measure the restored database at `conninfo` and the live one alike; the judged checks and assertions.
    `steps` times the restored database's first query (warm is not measured: see measure.LIVE_NOT_WARM)."""

    conninfo = with_restore_time(conninfo, baseline.restore_time)
    stable, unusable = _conditions_on(conninfo, store, baseline)
    restored, assertion_results = measure_conninfo(conninfo, store, baseline.methods, stable=stable, steps=steps)
    return judge_live(store, baseline, measure_live(store, baseline), restored, unusable) + assertion_results


def _conditions_on(conninfo: str, store: PostgresStore,
                   baseline: LiveBaseline) -> tuple[dict[str, str], dict[str, str]]:
    """The stable conditions that work on the restored database, and why each other one does not (a column
    the backup's table lacks, say): its checksum then fails with the reason instead of the whole store."""
    usable, unusable = {}, {}
    with psycopg.connect(conninfo) as conn:
        for table, condition in baseline.stable.items():
            try:
                _explain(conn, table, condition)
                usable[table] = condition
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                unusable[table] = redact(str(exc).strip().splitlines()[0])
    return usable, unusable


def judge_live(store: PostgresStore, baseline: LiveBaseline, live: DatabaseFacts, restored: DatabaseFacts,
               unusable: Mapping[str, str] | None = None) -> list[CheckResult]:
    """One result per spec of data_specs (assertions aside), the live facts standing where a manifest's would."""
    return judge_against_live(baseline, live, restored, tolerance=_settings(store).row_count_tolerance,
                              patterns=store.tables, unusable=unusable or {})


@dataclass(frozen=True)
class _Names:
    tables: Mapping[str, object]


def _settings(store: PostgresStore) -> LiveReference:
    assert store.live is not None, "live reference used for a store without `live`"
    return store.live


def with_restore_time(conninfo: str, restore_time: datetime | None) -> str:
    """`conninfo` with the restore time set as the session's restoreproof.restore_time (libpq `options`, added
    to any the DSN has), so a condition's {restore_time} is a value the server is given, not SQL text."""
    if restore_time is None:
        return conninfo
    options = conninfo_to_dict(conninfo).get("options") or ""
    setting = f"-c {RESTORE_TIME_SETTING}={restore_time.isoformat()}"
    return make_conninfo(conninfo, options=f"{options} {setting}".strip())


def _connect(store: PostgresStore, restore_time: datetime | None = None) -> psycopg.Connection[Any]:
    live = _settings(store)
    try:
        return psycopg.connect(with_restore_time(live_conninfo(store), restore_time),
                               connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as exc:
        raise ManifestError(f"store {store.name}: cannot connect to the live database (env {live.dsn_env}): "
                            f"{redact(str(exc).strip())}",
                            hint=f"check {live.dsn_env}, the network path and the user's CONNECT and SELECT "
                            "rights") from None


def _check_condition(conn: psycopg.Connection[Any], store: PostgresStore, table: str, condition: str) -> None:
    """Plan the condition on its table (EXPLAIN, no rows read), so a typo fails the plan, naming the table."""
    try:
        _explain(conn, table, condition)
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        raise ManifestError(f"store {store.name}: live.stable condition of {table} does not work there: "
                            f"{redact(str(exc).strip().splitlines()[0])}",
                            hint="a condition is a SQL expression over the table's columns, e.g. "
                            "\"created_at < {backup_time}\"") from None


def _explain(conn: psycopg.Connection[Any], table: str, condition: str) -> None:
    """Plan `condition` on `table` (no row is read); raises the server's error when it does not apply."""
    schema, _, name = table.partition(".")
    with conn.transaction():
        conn.execute(sql.SQL("EXPLAIN SELECT 1 FROM ONLY {} AS _restoreproof_row WHERE {}").format(
            sql.Identifier(schema, name), sql.SQL(condition)))
