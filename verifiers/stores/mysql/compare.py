"""Measure a restored MySQL/MariaDB database and judge it against the expected facts: shared by the
dump restore (the package) and the RDS snapshot restore (snapshot.py), which both import it."""

from __future__ import annotations

import contextlib
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers import checks
from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.store_settings import Assertion
from verifiers.stores import key_ranges
from verifiers.stores.base import selected_tables
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.measure import DefinitionUnreadable, measure_database, pin_session
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import quote_identifier
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import UNTIMED, StepClock

ASSERTION_TIMEOUT_SECONDS = 300


DEFINERS_SQL = """
SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %(db)s
UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %(db)s
"""


def data_specs(store: MysqlStore, facts: DatabaseFacts) -> list[CheckSpec]:
    """The checks of the restored data the manifest promises, whichever way it was restored."""
    tables = selected_tables(store.tables, facts)
    specs = [CheckSpec("tables", "tables")]
    for table in tables:
        specs += [CheckSpec("row_count", table), CheckSpec("checksum", table), CheckSpec("schema", table)]
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    specs += [CheckSpec("sequence", name) for name in sorted(facts.auto_increments) if name in tables]
    return specs + ([corruption.SPEC] if store.check_table else [])


def measure_connected(conn: Connection[Cursor], store: MysqlStore, database: str, *,
                      create_definers: bool = True, expected: DatabaseFacts | None = None,
                      captured_as: str | None = None,
                      steps: StepClock = UNTIMED) -> tuple[DatabaseFacts, list[CheckResult]]:
    """Measure `database` over an open connection (a local sandbox, or a restored RDS/Aurora instance, whose
    accounts came back with the snapshot: `create_definers=False`) and run the store's assertions; the
    connection is closed after. With the manifest's facts as `expected` (its tables named in `captured_as`),
    tables that differ are narrowed to key ranges. `steps`: see measure_database."""
    try:
        with conn.cursor() as cur:
            if create_definers:
                create_definer_accounts(cur, database)
            pin_session(cur)
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            facts = measure_database(cur, database, narrow_against=expected, captured_as=captured_as, steps=steps)
            cur.execute("ROLLBACK")
            return facts, [run_assertion(cur, a) for a in store.assertions]
    except DefinitionUnreadable as exc:
        raise SandboxError(f"store {store.name}: the restored {exc} has no readable definition") from None
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while verifying: {redact(str(exc.args[-1]))}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()


def create_definer_accounts(cur: Any, database: str) -> None:
    """Production accounts named as DEFINER of views and routines do not exist in a sandbox: create them
    (locked, no password) with rights on the restored database, so views and routines can be used."""
    cur.execute(DEFINERS_SQL, {"db": database})
    for (definer,) in cur.fetchall():
        user, sep, host = str(definer).rpartition("@")
        if not sep or user in ("root", ""):
            continue
        cur.execute("CREATE USER IF NOT EXISTS %s@%s ACCOUNT LOCK", (user, host))
        cur.execute(f"GRANT ALL PRIVILEGES ON {quote_identifier(database)}.* TO %s@%s", (user, host))


def run_assertion(cur: Any, assertion: Assertion) -> CheckResult:
    """One assertion in its own read-only transaction with a statement time limit."""
    try:
        _limit_statement_time(cur)
        cur.execute("START TRANSACTION READ ONLY")
        try:
            cur.execute(assertion.sql)
            row = cur.fetchone() if cur.description else None
        except pymysql.err.MySQLError:
            cur.execute("ROLLBACK")
            raise
        # Not in a `finally`: after Ctrl-C mid-query the server is still running it, and a ROLLBACK would wait
        # for it to finish (up to the statement limit) before the sandbox could be torn down.
        cur.execute("ROLLBACK")
    except pymysql.err.OperationalError as exc:
        if exc.args and isinstance(exc.args[0], int) and exc.args[0] >= 2000:  # client-side: the server is gone
            raise
        return _failed_assertion(assertion, exc)
    except pymysql.err.MySQLError as exc:
        return _failed_assertion(assertion, exc)
    value = row[0] if row else None
    if value is not None and not isinstance(value, int | float | str | bool):
        value = float(value) if hasattr(value, "__float__") else str(value)
    return checks.assertion(assertion.name, value, expect=assertion.expect, minimum=assertion.min,
                            maximum=assertion.max)


def _failed_assertion(assertion: Assertion, exc: pymysql.err.MySQLError) -> CheckResult:
    text = str(exc.args[-1]) if exc.args else type(exc).__name__
    return checks.assertion(assertion.name, None, expect=assertion.expect, minimum=assertion.min,
                            maximum=assertion.max, error=redact(text.strip().splitlines()[0]))


def _limit_statement_time(cur: Any) -> None:
    for statement in (f"SET SESSION max_statement_time = {ASSERTION_TIMEOUT_SECONDS}",  # MariaDB, seconds
                      f"SET SESSION max_execution_time = {ASSERTION_TIMEOUT_SECONDS * 1000}"):  # MySQL, ms
        try:
            cur.execute(statement)
            return
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != 1193:  # unknown system variable: the other flavour's name
                raise


def judge(store: MysqlStore, expected: DatabaseFacts, observed: DatabaseFacts) -> list[CheckResult]:
    wanted = selected_tables(store.tables, expected)
    present = selected_tables(store.tables, observed)
    results = [checks.table_set(set(present), set(wanted))]
    for table in wanted:
        got, want = observed.tables.get(table), expected.tables[table]
        results.append(checks.row_count(table, got.rows if got else None, want.rows, store.row_count_tolerance))
        results.append(checks.checksum(table, got.checksum if got else None, want.checksum,
                                       **key_ranges.narrowing(want, got)))
        results.append(checks.schema(table, got.schema_ if got else None, want.schema_))
    results.append(checks.schema(DATABASE_SUBJECT, observed.objects, expected.objects))
    for name, want_counter in sorted(expected.auto_increments.items()):
        if name in wanted:
            results.append(checks.sequence(name, observed.auto_increments.get(name), want_counter))
    return results
