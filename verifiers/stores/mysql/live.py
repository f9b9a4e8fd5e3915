"""The live MySQL / MariaDB database as the reference (the second kind, after a manifest captured with the backup),
for a snapshot nobody captured a manifest with (an automated RDS snapshot) and for a point-in-time restore. The
same semantics as PostgreSQL's (verifiers/stores/postgres/live.py):

- every table of the live database must be restored, with the same schema (a migration since the backup shows
  as drift: it is what restoring this backup would give you);
- each table's row count within `live.row_count_tolerance` of the live count;
- a checksum (the MySQL row hash, rowhash.py) only for the tables `live.stable` names, over the rows its condition
  selects on both sides (e.g. `created_at < {backup_time}`); other tables are counted only, never hashed;
- no AUTO_INCREMENT checks (live counters have moved on).

`{backup_time}` and `{restore_time}` in a condition are the session variables @restoreproof_backup_time and
@restoreproof_restore_time, set on every connection (live and restored) with the value bound by the driver, never
formatted into the SQL text; DATETIME(6) in UTC (the measuring session's time zone is pinned to +00:00, so a
TIMESTAMP column compares in UTC; a DATETIME column is compared as written, so store UTC there). A condition is
planned with EXPLAIN first, so a bad one fails the plan naming its table. In a point-in-time restore a table
without a condition gets a `checksum` "not compared" (rows written after the restore time cannot be told apart
from older ones), never a pass.

The live database is read one table at a time, each in its own read-only transaction (START TRANSACTION READ
ONLY): it is production (or its replica), and a verification must not hold a long transaction there. Its DSN comes
from the environment variable the inventory names, never from the inventory, and never appears in a message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec, not_compared
from verifiers.errors import CaptureError, ManifestError, RestoreproofError, SandboxError
from verifiers.redaction import register_secret
from verifiers.setting_types import BACKUP_TIME, RESTORE_TIME, LiveReference
from verifiers.sources import Artifact
from verifiers.stores.base import selected_tables
from verifiers.stores.live_reference import judge_against_live
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql.compare import create_definer_accounts, run_assertion
from verifiers.stores.mysql.dsn import MysqlTarget, parse_dsn
from verifiers.stores.mysql.measure import (
    SCHEMA_SQL,
    TABLES_SQL,
    DefinitionUnreadable,
    database_objects,
    pin_session,
    qualified,
    table_columns,
    table_schemas,
)
from verifiers.stores.mysql.network_server import MARKER_TABLE
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import format_checksum, quote_identifier, row_hash_sql
from verifiers.stores.mysql.service_restore import encrypt_only
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import UNTIMED, StepClock

CONNECT_TIMEOUT_SECONDS = 30
BACKUP_TIME_VARIABLE = "@restoreproof_backup_time"
RESTORE_TIME_VARIABLE = "@restoreproof_restore_time"
LIVE_NOT_WARM = ("the live reference checksums only the rows its stable conditions select and counts the rest, so "
                 "no measurement reads every row")
CONDITION_HINT = ("a condition is a SQL expression over the table's columns, e.g. \"created_at < {backup_time}\"")
Connect = Callable[[], "Connection[Cursor]"]


@dataclass(frozen=True)
class LiveBaseline:
    """What a plan keeps in place of a manifest: what the live database held when the checks were listed."""

    dsn_env: str
    database: str  # the live DSN's database: the one the restored instance is measured in too
    captured_at: datetime  # the backup's time (a point-in-time restore's moment): {backup_time}
    tables: tuple[str, ...]  # the selected live tables, database.table, sorted
    stable: dict[str, str]  # table -> condition, {backup_time} / {restore_time} as session variables
    checksummed: frozenset[str] = field(default_factory=frozenset)
    restore_time: datetime | None = None  # a point-in-time restore's moment: {restore_time} of the conditions
    charset: str = "utf8mb4"  # the live database's defaults: a dump is restored into a database made with them
    collation: str = "utf8mb4_general_ci"


@dataclass(frozen=True)
class LiveTable:
    rows: int
    checksum: str | None  # over the rows of the table's stable condition; None: counted only
    schema_: dict[str, str]
    selected: int | None = None  # how many rows the stable condition selected


@dataclass(frozen=True)
class LiveFacts:
    tables: dict[str, LiveTable]  # every base table, database.table; rows of the baseline's only
    objects: dict[str, str]


def live_target(store: MysqlStore) -> MysqlTarget:
    """The live database's DSN from the environment, parsed; its password registered as a secret, so no message
    shows it."""
    live = _settings(store)
    dsn = os.environ.get(live.dsn_env, "").strip()
    if not dsn:
        raise ManifestError(f"store {store.name}: the live database is the reference (a snapshot without a "
                            f"manifest, a point-in-time restore) and its DSN is not set (env {live.dsn_env})",
                            hint=f"export {live.dsn_env}=mysql://USER:PASSWORD@HOST:PORT/DATABASE of the live "
                            "database or a read replica, or capture a manifest with the snapshot (`restoreproof "
                            "capture mysql`)")
    try:
        target = parse_dsn(dsn, what=f"store {store.name}: env {live.dsn_env}")
    except CaptureError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None
    if target.password and len(target.password) >= 8:  # shorter ones would mask words; never shown anyway
        register_secret(target.password)
    return target


def read_baseline(store: MysqlStore, backup_time: datetime, *, point_in_time: bool = False,
                  database: str | None = None) -> LiveBaseline:
    """At plan time: the live tables (catalog only, no scan) and the stable conditions, checked to name live
    tables and to plan there (EXPLAIN). `point_in_time`: `backup_time` is a point-in-time restore's moment, bound
    as {restore_time} too. `database`: stores.source.database, which must be the live DSN's when set."""
    live = _settings(store)
    target = live_target(store)
    if database is not None and database != target.database:
        raise ManifestError(f"store {store.name}: stores.source.database is {database!r} but the live database "
                            f"(env {live.dsn_env}) is {target.database!r}",
                            hint="remove stores.source.database (a mysql store verifies the live DSN's database) "
                            f"or point {live.dsn_env} at that database")
    restore_time = backup_time if point_in_time else None
    conditions = _conditions(store, live, restore_time)
    conn = _connect(store, target, ManifestError)
    try:
        with conn.cursor() as cur:
            set_session(cur, backup_time, restore_time)
            cur.execute("START TRANSACTION READ ONLY")
            cur.execute(TABLES_SQL, (target.database,))
            names = [qualified(target.database, str(row[0])) for row in cur.fetchall()]
            cur.execute(SCHEMA_SQL, (target.database,))
            defaults = cur.fetchone()
            cur.execute("ROLLBACK")
            if defaults is None:
                raise ManifestError(f"store {store.name}: the live database (env {live.dsn_env}) has no database "
                                    f"{target.database!r}", hint=f"point {live.dsn_env} at the store's database")
            unknown = sorted(set(conditions) - set(names))
            if unknown:
                raise ManifestError(f"store {store.name}: live.stable names {', '.join(unknown)}, not a table of "
                                    f"the live database (env {live.dsn_env})",
                                    hint=f"name tables as database.table, as the live database has them "
                                    f"({target.database}.TABLE)")
            for table, condition in conditions.items():
                try:
                    explain(cur, table, condition)
                except pymysql.err.MySQLError as exc:
                    if _client_side(exc):
                        raise
                    raise ManifestError(f"store {store.name}: live.stable condition of {table} does not work "
                                        f"there: {_reason(exc)}", hint=CONDITION_HINT) from None
    except pymysql.err.MySQLError as exc:
        raise ManifestError(f"store {store.name}: cannot read the live database's catalog (env {live.dsn_env}): "
                            f"{_reason(exc)}", hint="the live user needs SELECT on the database") from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()
    chosen = set(selected_tables(store.tables, _Names(dict.fromkeys(names))))
    selected = tuple(t for t in names if t in chosen)
    return LiveBaseline(dsn_env=live.dsn_env, database=target.database, captured_at=backup_time, tables=selected,
                        stable=conditions, checksummed=frozenset(conditions) & frozenset(selected),
                        restore_time=restore_time, charset=str(defaults[0]), collation=str(defaults[1]))


def _conditions(store: MysqlStore, live: LiveReference, restore_time: datetime | None) -> dict[str, str]:
    """The stable conditions with {backup_time} / {restore_time} as the session variables set_session sets."""
    if restore_time is None and any(RESTORE_TIME in condition for condition in live.stable.values()):
        raise ManifestError(f"store {store.name}: live.stable uses {RESTORE_TIME}, which only a point-in-time "
                            "restore has",
                            hint=f"use {BACKUP_TIME} for a snapshot or dump, or set stores.source.restore_to")
    return {table: condition.replace(BACKUP_TIME, BACKUP_TIME_VARIABLE).replace(RESTORE_TIME, RESTORE_TIME_VARIABLE)
            for table, condition in live.stable.items()}


def set_session(cur: Any, backup_time: datetime, restore_time: datetime | None) -> None:
    """Pin the checksum's session settings (UTC, utf8mb4) and set the conditions' time variables, their values
    bound by the driver (never SQL text)."""
    pin_session(cur)
    cur.execute(f"SET {BACKUP_TIME_VARIABLE} = CAST(%s AS DATETIME(6))", (_utc(backup_time),))
    if restore_time is not None:
        cur.execute(f"SET {RESTORE_TIME_VARIABLE} = CAST(%s AS DATETIME(6))", (_utc(restore_time),))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def explain(cur: Any, table: str, condition: str) -> None:
    """Plan `condition` on `table` (no row is read); raises the server's error when it does not apply."""
    database, _, name = table.partition(".")
    cur.execute(f"EXPLAIN SELECT 1 FROM {quote_identifier(database)}.{quote_identifier(name)} "  # noqa: S608
                f"WHERE ({condition})")
    cur.fetchall()


def data_specs(store: MysqlStore, baseline: LiveBaseline) -> list[CheckSpec]:
    specs = [CheckSpec("tables", "tables")]
    for table in baseline.tables:
        specs.append(CheckSpec("row_count", table))
        if table in baseline.checksummed or baseline.restore_time is not None:
            specs.append(CheckSpec("checksum", table))
        specs.append(CheckSpec("schema", table))
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    return specs + ([corruption.SPEC] if store.check_table else [])


def measure(cur: Any, database: str, tables: tuple[str, ...], conditions: Mapping[str, str]) -> LiveFacts:
    """Every base table's schema and the database's objects (catalog reads, in one read-only transaction), then
    each of `tables` (those present) one at a time in its own read-only transaction: its row count and, for a
    table with a condition, the checksum of the rows the condition selects, in one scan. Only numbers leave the
    server."""
    cur.execute("START TRANSACTION READ ONLY")
    try:
        schemas = table_schemas(cur, database)
        objects = database_objects(cur, database)
        columns = table_columns(cur, database)
    finally:
        cur.execute("ROLLBACK")
    measured: dict[str, LiveTable] = {}
    for table, schema in schemas.items():
        name = qualified(database, table)
        if name not in tables:
            measured[name] = LiveTable(rows=0, checksum=None, schema_=schema)  # listed, not counted: not judged
            continue
        condition = conditions.get(name)
        target = f"{quote_identifier(database)}.{quote_identifier(table)}"
        if condition is None:
            sql = f"SELECT COUNT(*), NULL, NULL FROM {target}"  # noqa: S608 - quoted identifiers only
        else:
            row_hash = row_hash_sql([(str(c[1]), str(c[3])) for c in columns.get(table, [])])
            sql = (f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN ({condition}) THEN 1 END), 0), "  # noqa: S608
                   f"COALESCE(SUM(CASE WHEN ({condition}) THEN {row_hash} END), 0) FROM {target}")
        cur.execute("START TRANSACTION READ ONLY")
        try:
            cur.execute(sql)
            counted, selected, total = cur.fetchone()
        finally:
            cur.execute("ROLLBACK")
        measured[name] = LiveTable(rows=int(counted), schema_=schema,
                                   checksum=None if condition is None else format_checksum(int(total)),
                                   selected=None if condition is None else int(selected))
    return LiveFacts(tables=measured, objects=objects)


def measure_live(store: MysqlStore, baseline: LiveBaseline) -> LiveFacts:
    """The live database now, one table at a time, each in a read-only transaction."""
    conn = _connect(store, live_target(store), SandboxError)
    try:
        with conn.cursor() as cur:
            set_session(cur, baseline.captured_at, baseline.restore_time)
            return measure(cur, baseline.database, baseline.tables, baseline.stable)
    except DefinitionUnreadable as exc:
        raise SandboxError(f"store {store.name}: the live {exc} has no readable definition (env "
                           f"{baseline.dsn_env})", hint="the live user needs SHOW VIEW and SELECT on the "
                           "database's routines, triggers and events") from None
    except pymysql.err.MySQLError as exc:
        raise SandboxError(f"store {store.name}: could not measure the live database (env {baseline.dsn_env}): "
                           f"{_reason(exc)}",
                           hint="check the live database is reachable and its user may SELECT every table") from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()


def verify_restored(connect: Connect, store: MysqlStore, baseline: LiveBaseline, steps: StepClock = UNTIMED, *,
                    restored_as: str | None = None, create_definers: bool = False) -> list[CheckResult]:
    """Measure the restored database (a connection from `connect`; in `restored_as`, a scratch database of an
    external server, when given) and the live one alike; the judged checks, the assertions (on the restored
    database) and CHECK TABLE when the store asks for it. `steps` times the restored database's first query (warm
    is not measured: see LIVE_NOT_WARM). `create_definers`: a local sandbox, where the DEFINER accounts of views
    and routines are created first (as for a manifest)."""
    database = restored_as or baseline.database
    conn = connect()
    try:
        with conn.cursor() as cur:
            if create_definers:
                create_definer_accounts(cur, database)
            set_session(cur, baseline.captured_at, baseline.restore_time)
            cur.execute(TABLES_SQL, (database,))
            cur.fetchall()
            steps.lap("first_query")
            usable, unusable = _conditions_on(cur, baseline, database)
            restored = _renamed(measure(cur, database, _in(database, baseline.tables),
                                        {_in(database, (t,))[0]: c for t, c in usable.items()}),
                                database, baseline.database)
            steps.not_measured("warm", LIVE_NOT_WARM)
            assertion_results = [run_assertion(cur, a) for a in store.assertions]
    except DefinitionUnreadable as exc:
        raise SandboxError(f"store {store.name}: the restored {exc} has no readable definition") from None
    except pymysql.err.MySQLError as exc:
        raise SandboxError(f"store {store.name}: lost the restored instance while verifying: {_reason(exc)}",
                           hint="check the instance's events; it may have been stopped or run out of storage") \
            from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()
    judged = judge_live(store, baseline, measure_live(store, baseline), restored, unusable) + assertion_results
    if store.check_table:  # the snapshot's pages are production's: a table corrupted there is found here
        judged.append(corruption.check_tables(connect(), database, budget=store.check_table_budget,
                                              store=store.name, shown_as=baseline.database))
    return judged


def _in(database: str, tables: tuple[str, ...]) -> tuple[str, ...]:
    """`tables` (database.table) named in `database` instead."""
    return tuple(qualified(database, t.partition(".")[2]) for t in tables)


def _renamed(facts: LiveFacts, measured_in: str, live: str) -> LiveFacts:
    """Facts measured in a scratch database, named as in the live one, without the scratch server's marker
    table. The scratch name is random (`restoreproof_scratch_<hex>`): it occurs only where it names it."""
    if measured_in == live:
        return facts

    def name(text: str) -> str:
        return text.replace(measured_in, live)

    marker = qualified(live, MARKER_TABLE)
    tables = {name(k): LiveTable(rows=v.rows, checksum=v.checksum, selected=v.selected,
                                 schema_={name(a): name(b) for a, b in v.schema_.items()})
              for k, v in facts.tables.items()}
    return LiveFacts(tables={k: v for k, v in tables.items() if k != marker},
                     objects={name(k): name(v) for k, v in facts.objects.items()})


def artifact_check(artifact: Artifact) -> CheckResult:
    """Without a manifest the dump's hash is recorded for the evidence, as not compared: nothing to compare it
    with."""
    file_name = Path(artifact.location).name
    return not_compared("artifact", file_name, artifact.sha256,
                        f"no manifest to compare it with (the live database is the reference); {file_name}: sha256 "
                        f"recorded ({artifact.bytes} bytes)")


def _conditions_on(cur: Any, baseline: LiveBaseline, database: str) -> tuple[dict[str, str], dict[str, str]]:
    """The stable conditions that plan on the restored database, and why each other one does not (a column the
    backup's table lacks, say): its checksum then fails with the reason instead of the whole store."""
    usable, unusable = {}, {}
    for table, condition in baseline.stable.items():
        if table not in baseline.checksummed:
            continue
        try:
            explain(cur, _in(database, (table,))[0], condition)
            usable[table] = condition
        except pymysql.err.MySQLError as exc:
            if _client_side(exc):
                raise
            unusable[table] = _reason(exc)
    return usable, unusable


def judge_live(store: MysqlStore, baseline: LiveBaseline, live: LiveFacts, restored: LiveFacts,
               unusable: Mapping[str, str] | None = None) -> list[CheckResult]:
    """One result per spec of data_specs (CHECK TABLE and assertions aside), the live facts standing where a
    manifest's would. A stable condition that selects no row on either side compared nothing: not compared."""
    empty = {table: f"{table}: its live.stable condition selects no rows, live or restored, so no row was compared"
             for table in baseline.checksummed
             if (want := live.tables.get(table)) and (got := restored.tables.get(table))
             and want.selected == 0 and got.selected == 0}
    return judge_against_live(baseline, live, restored, tolerance=_settings(store).row_count_tolerance,
                              patterns=store.tables, unusable=unusable or {}, compared_nothing=empty)


@dataclass(frozen=True)
class _Names:
    tables: Mapping[str, object]


def _settings(store: MysqlStore) -> LiveReference:
    assert store.live is not None, "live reference used for a store without `live`"
    return store.live


def _connect(store: MysqlStore, target: MysqlTarget, error: type[RestoreproofError]) -> Connection[Cursor]:
    """A connection to the live database (TLS to a host, as to a restored instance); a failure names the env
    variable, never the DSN."""
    live = _settings(store)
    kwargs: dict[str, Any] = {**target.connect_kwargs(), "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                              "autocommit": True}
    if target.host and not target.unix_socket and not target.ssl_ca:
        kwargs["ssl"] = encrypt_only()
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        raise error(f"store {store.name}: cannot connect to the live database (env {live.dsn_env}): {_reason(exc)}",
                    hint=f"check {live.dsn_env}, the network path and the user's SELECT rights") from None


def _client_side(exc: pymysql.err.MySQLError) -> bool:
    """A client-side error (2000 and up: the connection is gone), not the server refusing the statement."""
    return bool(exc.args) and isinstance(exc.args[0], int) and exc.args[0] >= 2000


def _reason(exc: pymysql.err.MySQLError) -> str:
    text = str(exc.args[-1]) if exc.args else type(exc).__name__
    return redact(text.strip().splitlines()[0] if text.strip() else type(exc).__name__)
