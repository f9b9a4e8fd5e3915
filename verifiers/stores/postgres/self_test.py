"""Each run proves its checks can fail (issue 21): after a store's checks pass, the restored sandbox is changed
three ways, each inside a transaction that is rolled back, and the check that should notice is judged again with
the same code as the real run (`checks.row_count`, `checks.checksum`, `checks.schema` against the manifest):

- `row removed`: one row of the largest table that has one to spare (a row another table references cannot be
  removed: the next table is tried);
- `value changed`: one value of a column the harness knows how to change (numbers +1 on the largest value, text
  with a character appended, booleans negated), in the largest table where that works;
- `index dropped`: one index that backs no constraint.

A change that is not detected fails its `self_test` check, and so the store: a check that cannot fail is no
evidence. A change that cannot be made (no table with rows, no plain index) is "not compared", saying why.
Only counts, digests and object names leave the server, as in the run itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.base import selected_tables
from verifiers.stores.postgres.checksum import pin_session, table_checksum
from verifiers.stores.postgres.facts import DatabaseFacts, TableFacts
from verifiers.stores.postgres.measure import TABLES_SQL, qualified, table_schema
from verifiers.stores.postgres.restore import redact
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.stores.self_test import CHECK, nothing_to_prove, verdict

ROW_REMOVED, VALUE_CHANGED, INDEX_DROPPED = "row removed", "value changed", "index dropped"
SPECS = tuple(CheckSpec(CHECK, subject) for subject in (ROW_REMOVED, VALUE_CHANGED, INDEX_DROPPED))

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, NULL)
FROM pg_attribute a
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum
"""

PLAIN_INDEXES_SQL = """
SELECT n.nspname, c.relname
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname
"""

# How to change a value of a column, by its type: on the row holding the column's largest value, so that a
# unique key stays unique.
CHANGES: dict[str, str] = {
    "smallint": "{c} + 1", "integer": "{c} + 1", "bigint": "{c} + 1", "numeric": "{c} + 1", "real": "{c} + 1",
    "double precision": "{c} + 1", "text": "{c} || '~'", "character varying": "{c} || '~'", "boolean": "NOT {c}",
}


@dataclass(frozen=True)
class Table:
    name: str  # schema.table, as the manifest names it
    oid: int
    schema: str
    table: str

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)


def run(conninfo: str, store: PostgresStore, expected: DatabaseFacts,
        judged: Sequence[CheckResult]) -> list[CheckResult]:
    """The three self-test checks, once the store's own `judged` checks all passed."""
    if not all(c.passed for c in judged):
        return nothing_to_prove(SPECS)
    try:
        with psycopg.connect(conninfo) as conn:
            listed = {qualified(schema, table): Table(qualified(schema, table), oid, schema, table)
                      for oid, schema, table, *_ in conn.execute(TABLES_SQL)}
            conn.rollback()
            # largest first, as TABLES_SQL orders them; only the tables the store verifies, with rows
            with_rows = [listed[name] for name in listed if name in selected_tables(store.tables, expected)
                         and expected.tables[name].rows > 0]
            return [_row_removed(conn, store, expected, with_rows), _value_changed(conn, expected, with_rows),
                    _index_dropped(conn, expected, [listed[n] for n in listed
                                                    if n in selected_tables(store.tables, expected)])]
    except psycopg.OperationalError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server during the self-test: {redact(str(exc))}",
                           hint="the server may have been killed or run out of memory or disk") from None


def _attempt(conn: psycopg.Connection[Any], change: sql.Composed,
             measure: Callable[[], list[CheckResult]]) -> list[CheckResult] | None:
    """Make `change`, judge with `measure`, roll back. None when the server refused the change (a foreign key,
    a constraint, a trigger): the caller tries another."""
    try:
        with conn.transaction(force_rollback=True):
            pin_session(conn)
            conn.execute(change)
            return measure()
    except psycopg.OperationalError:
        raise
    except psycopg.Error:
        return None


def _row_removed(conn: psycopg.Connection[Any], store: PostgresStore, expected: DatabaseFacts,
                 tables: list[Table]) -> CheckResult:
    for table in tables:
        want = expected.tables[table.name]

        def measure(t: Table = table, want: TableFacts = want) -> list[CheckResult]:
            rows, checksum = table_checksum(conn, t.schema, t.table, want.method)
            return [checks.row_count(t.name, rows, want.rows, store.row_count_tolerance),
                    checks.checksum(t.name, checksum, want.checksum)]

        delete = sql.SQL("DELETE FROM ONLY {t} WHERE ctid = (SELECT ctid FROM ONLY {t} LIMIT 1)").format(
            t=table.identifier)
        judged = _attempt(conn, delete, measure)
        if judged is not None:
            return verdict(ROW_REMOVED, f"one row of {table.name} removed", judged)
    return checks.not_compared(CHECK, ROW_REMOVED, None, "no verified table has a row that could be removed")


def _value_changed(conn: psycopg.Connection[Any], expected: DatabaseFacts, tables: list[Table]) -> CheckResult:
    for table in tables:
        want = expected.tables[table.name]

        def measure(t: Table = table, want: TableFacts = want) -> list[CheckResult]:
            return [checks.checksum(t.name, table_checksum(conn, t.schema, t.table, want.method)[1], want.checksum)]

        for column, type_name in conn.execute(COLUMNS_SQL, (table.oid,)).fetchall():
            if type_name not in CHANGES:
                continue
            c = sql.Identifier(column)
            update = sql.SQL("UPDATE ONLY {t} SET {c} = {change} WHERE ctid = (SELECT ctid FROM ONLY {t} "
                             "WHERE {c} IS NOT NULL ORDER BY {c} DESC LIMIT 1)").format(
                t=table.identifier, c=c, change=sql.SQL(CHANGES[type_name]).format(c=c))
            judged = _attempt(conn, update, measure)
            if judged is not None:
                return verdict(VALUE_CHANGED, f"one value of {table.name}.{column} changed", judged)
        conn.rollback()
    return checks.not_compared(CHECK, VALUE_CHANGED, None, "no verified table has a value of a number, text or "
                               "boolean column that could be changed")


def _index_dropped(conn: psycopg.Connection[Any], expected: DatabaseFacts, tables: list[Table]) -> CheckResult:
    for table in tables:
        want = expected.tables[table.name]
        for schema, index in conn.execute(PLAIN_INDEXES_SQL, (table.oid,)).fetchall():

            def measure(t: Table = table, want: TableFacts = want) -> list[CheckResult]:
                return [checks.schema(t.name, table_schema(conn, t.oid, t.schema, t.table), want.schema_)]

            judged = _attempt(conn, sql.SQL("DROP INDEX {i}").format(i=sql.Identifier(schema, index)), measure)
            if judged is not None:
                return verdict(INDEX_DROPPED, f"index {index} of {table.name} dropped", judged)
        conn.rollback()
    return checks.not_compared(CHECK, INDEX_DROPPED, None, "no verified table has an index that backs no "
                               "constraint")
