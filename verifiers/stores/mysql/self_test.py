"""Each run proves its checks can fail, for MySQL / MariaDB (issue 21): after a store's checks pass, one row is
removed and one value changed in the restored database, each inside a transaction that is rolled back, and the
table is checksummed and judged again with the run's own code (`checks.row_count`, `checks.checksum` against
the manifest). A change not detected fails its `self_test` check and the store.

Only InnoDB tables without triggers are changed: a change to a MyISAM or Aria table, or one a trigger carries to
such a table, would not roll back. Dropping an index is not tried: MySQL commits DDL at once. Only counts,
digests and names leave the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymysql

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.base import selected_tables
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.measure import pin_session, qualified, table_columns
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import format_checksum, quote_identifier, table_checksum_sql
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.stores.self_test import CHECK, nothing_to_prove, verdict

ROW_REMOVED, VALUE_CHANGED = "row removed", "value changed"
SPECS = (CheckSpec(CHECK, ROW_REMOVED), CheckSpec(CHECK, VALUE_CHANGED))

# InnoDB tables (their changes roll back) without triggers, largest first
TABLES_SQL = """
SELECT t.TABLE_NAME FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' AND t.ENGINE = 'InnoDB'
  AND NOT EXISTS (SELECT 1 FROM information_schema.TRIGGERS g
                  WHERE g.EVENT_OBJECT_SCHEMA = t.TABLE_SCHEMA AND g.EVENT_OBJECT_TABLE = t.TABLE_NAME)
ORDER BY t.DATA_LENGTH DESC, t.TABLE_NAME
"""

# How to change a value, by DATA_TYPE: on the row holding the column's largest value, so a unique key stays unique
CHANGES: dict[str, str] = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double"), "{c} + 1"),
    **dict.fromkeys(("char", "varchar", "text", "mediumtext", "longtext"), "CONCAT({c}, '~')"),
}


def run(conn: Any, store: MysqlStore, database: str, expected: DatabaseFacts, judged: Sequence[CheckResult], *,
        captured_as: str) -> list[CheckResult]:
    """The self-test checks of `database` (restored; `captured_as` is its name in the manifest) over `conn`
    (closed after), once the store's `judged` checks all passed."""
    if not all(c.passed for c in judged):
        return nothing_to_prove(SPECS)
    wanted = set(selected_tables(store.tables, expected))
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_SQL, (database,))
            tables = [str(row[0]) for row in cur.fetchall()
                      if qualified(captured_as, str(row[0])) in wanted
                      and expected.tables[qualified(captured_as, str(row[0]))].rows > 0]
            columns = table_columns(cur, database)
            return [_row_removed(cur, store, database, captured_as, expected, tables, columns),
                    _value_changed(cur, database, captured_as, expected, tables, columns)]
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server during the self-test: "
                           f"{redact(str(exc.args[-1]) if exc.args else type(exc).__name__)}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        conn.close()


def _checksum(cur: Any, database: str, table: str, columns: dict[str, list[tuple[Any, ...]]]) -> tuple[int, str]:
    cur.execute(table_checksum_sql(database, table, [(c[1], c[3]) for c in columns.get(table, [])]))
    rows, total = cur.fetchone()
    return int(rows), format_checksum(int(total))


def _attempt(cur: Any, change: str) -> bool:
    """Begin, make `change`; False (rolled back) when the server refused it (a foreign key, a constraint)."""
    cur.execute("START TRANSACTION")
    pin_session(cur)
    try:
        cur.execute(change)
    except pymysql.err.OperationalError:
        raise
    except pymysql.err.MySQLError:
        cur.execute("ROLLBACK")
        return False
    return True


def _row_removed(cur: Any, store: MysqlStore, database: str, captured_as: str, expected: DatabaseFacts,
                 tables: list[str], columns: dict[str, list[tuple[Any, ...]]]) -> CheckResult:
    for table in tables:
        name, want = qualified(captured_as, table), expected.tables[qualified(captured_as, table)]
        target = f"{quote_identifier(database)}.{quote_identifier(table)}"
        if not _attempt(cur, f"DELETE FROM {target} LIMIT 1"):  # noqa: S608 - quoted identifiers only
            continue
        try:
            rows, checksum = _checksum(cur, database, table, columns)
        finally:
            cur.execute("ROLLBACK")
        judged = [checks.row_count(name, rows, want.rows, store.row_count_tolerance),
                  checks.checksum(name, checksum, want.checksum)]
        return verdict(ROW_REMOVED, f"one row of {name} removed", judged)
    return checks.not_compared(CHECK, ROW_REMOVED, None, "no verified InnoDB table without triggers has a row that "
                               "could be removed")


def _value_changed(cur: Any, database: str, captured_as: str, expected: DatabaseFacts, tables: list[str],
                   columns: dict[str, list[tuple[Any, ...]]]) -> CheckResult:
    for table in tables:
        name, want = qualified(captured_as, table), expected.tables[qualified(captured_as, table)]
        for column in columns.get(table, []):
            column_name, data_type, generated = str(column[1]), str(column[3]).lower(), column[10]
            if data_type not in CHANGES or generated:
                continue
            c = quote_identifier(column_name)
            target = f"{quote_identifier(database)}.{quote_identifier(table)}"
            update = (f"UPDATE {target} SET {c} = {CHANGES[data_type].format(c=c)} "  # noqa: S608 - quoted names
                      f"WHERE {c} IS NOT NULL ORDER BY {c} DESC LIMIT 1")
            if not _attempt(cur, update):
                continue
            try:
                changed = cur.rowcount
                checksum = _checksum(cur, database, table, columns)[1]
            finally:
                cur.execute("ROLLBACK")
            if changed != 1:
                continue
            return verdict(VALUE_CHANGED, f"one value of {name}.{column_name} changed",
                           [checks.checksum(name, checksum, want.checksum)])
    return checks.not_compared(CHECK, VALUE_CHANGED, None, "no verified InnoDB table without triggers has a number "
                               "or text value that could be changed")
