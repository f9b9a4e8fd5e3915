"""Measure a MySQL / MariaDB database: counts and checksums pushed into the server, the schema read from
information_schema, and views, routines, triggers and events from their SHOW CREATE statements.

The caller owns the (read-only, consistent-snapshot) transaction; no row contents are fetched to the client.
AUTO_INCREMENT counters are not part of any schema definition (a dump carries the counter, a restore may move
it, and MySQL 8 reports a cached value unless information_schema_stats_expiry is 0): they are facts of their
own, judged by checks.sequence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pymysql

from verifiers import progress as progress_events
from verifiers.stores.hash_ranges import HashSegments, segment_bits
from verifiers.stores.key_ranges import DEFAULT_SEGMENT_ROWS, KeyRanges, layout
from verifiers.stores.mysql.facts import AutoIncrementFacts, DatabaseFacts, TableFacts
from verifiers.stores.mysql.rowhash import (
    SESSION_SQL,
    format_checksum,
    key_hashes_sql,
    key_ranges_sql,
    quote_identifier,
    table_checksum_sql,
)
from verifiers.timing import UNTIMED, StepClock

Progress = Callable[[str], None]
Cursor = Any  # pymysql.cursors.Cursor: its stubs type execute()'s args loosely enough either way
ER_UNKNOWN_SYSTEM_VARIABLE, ER_BAD_FIELD = 1193, 1054

TABLES_SQL = """
SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME
"""
COLUMNS_SQL = """
SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
       CHARACTER_SET_NAME, COLLATION_NAME, GENERATION_EXPRESSION
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION
"""
INDEXES_SQL = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""
FOREIGN_KEYS_SQL = """
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME,
       k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""
# MariaDB names the table in CHECK_CONSTRAINTS (check names are per table there); MySQL 8 does not.
CHECKS_MARIADB_SQL = """
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %s
"""
CHECKS_MYSQL_SQL = """
SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS c
JOIN information_schema.TABLE_CONSTRAINTS t
  ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME
WHERE c.CONSTRAINT_SCHEMA = %s AND t.CONSTRAINT_TYPE = 'CHECK'
"""
TRIGGERS_SQL = "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"
VIEWS_SQL = "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s"
ROUTINES_SQL = """
SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION')
"""
EVENTS_SQL = "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"
SCHEMA_SQL = """
SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s
"""
AUTO_INCREMENT_SQL = """
SELECT t.TABLE_NAME, t.AUTO_INCREMENT, c.COLUMN_NAME
FROM information_schema.TABLES t
JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.EXTRA LIKE '%%auto_increment%%'
WHERE t.TABLE_SCHEMA = %s AND t.AUTO_INCREMENT IS NOT NULL
"""

_WS = re.compile(r"\s+")


class DefinitionUnreadable(Exception):
    """SHOW CREATE returned no definition: the connected user may not read that object's body."""


def normalise(definition: str) -> str:
    """Fold white space so cosmetic re-indentation is not drift."""
    return _WS.sub(" ", definition).strip()


def qualified(database: str, name: str) -> str:
    return f"{database}.{name}"


def pin_session(cur: Cursor) -> None:
    """Pin what the checksum's canonical text depends on; on MySQL 8 read live (not cached) statistics."""
    for statement in SESSION_SQL:
        cur.execute(statement)
    try:
        cur.execute("SET SESSION information_schema_stats_expiry = 0")
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != ER_UNKNOWN_SYSTEM_VARIABLE:  # MariaDB and MySQL 5.7 have no such cache
            raise


def measure_database(cur: Cursor, database: str, *, progress: Progress | None = None,
                     auto_increments: dict[str, AutoIncrementFacts] | None = None, segment_rows: int | None = None,
                     narrow_against: DatabaseFacts | None = None, captured_as: str | None = None,
                     steps: StepClock = UNTIMED) -> DatabaseFacts:
    """All facts of `database`. `auto_increments`, when given, were read earlier (see read_auto_increments).
    `segment_rows` (capture) adds per-key-range checksums, ranges of about that many rows, and takes the table's
    count and checksum from them in the same scan (verifiers/stores/key_ranges.py); `narrow_against`
    (verify: the manifest's facts, whose tables are named in `captured_as`) measures those ranges again for each
    table whose count or checksum differs, so the judgement can name the key ranges that differ: one more scan per
    differing table, never row contents. `steps` hears of the restore's first_query (the list of tables answered)
    and warm (every row read by the checksums) steps."""
    pin_session(cur)
    cur.execute(TABLES_SQL, (database,))
    tables = cur.fetchall()
    steps.lap("first_query")
    columns = _columns(cur, database)
    schemas = _table_schemas(cur, database, tables, columns)
    facts: dict[str, TableFacts] = {}
    checksummed = progress_events.task("tables", total=len(tables))
    measured: dict[str, tuple[int, str, KeyRanges | None, HashSegments | None]] = {}
    for table, *_ in tables:
        if progress:
            progress(qualified(database, table))
        pairs = [(c[1], c[3]) for c in columns.get(table, [])]
        ranges = None if segment_rows is None else key_ranges(cur, database, table, pairs, segment_rows=segment_rows)
        hashes = None if segment_rows is None or ranges is not None else key_hashes(cur, database, table, pairs,
                                                                                    segment_rows=segment_rows)
        if ranges is not None:  # one scan: the table's count and checksum are its ranges' sums
            measured[table] = (*ranges.whole(), ranges, None)
        elif hashes is not None:
            measured[table] = (*hashes.whole(), None, hashes)
        else:
            cur.execute(table_checksum_sql(database, table, pairs))
            counted, total = cur.fetchone()
            measured[table] = int(counted), format_checksum(int(total)), None, None
        checksummed.advance()
    steps.lap("warm")  # every row was read; narrowing a differing table below reads some again
    for table, *_ in tables:
        name = qualified(database, table)
        pairs = [(c[1], c[3]) for c in columns.get(table, [])]
        rows, checksum, ranges, hashes = measured[table]
        captured = narrow_against.tables.get(qualified(captured_as or database, table)) if narrow_against else None
        if captured and (captured.rows, captured.checksum) != (rows, checksum):
            if captured.key_ranges:
                ranges = key_ranges(cur, database, table, pairs, like=captured.key_ranges)
            elif captured.key_hashes:
                hashes = key_hashes(cur, database, table, pairs, like=captured.key_hashes)
        facts[name] = TableFacts(rows=rows, checksum=checksum, key_ranges=ranges, key_hashes=hashes,
                                 schema=schemas[table])
    cur.execute("SELECT VERSION()")
    version = str(cur.fetchone()[0])
    cur.execute(SCHEMA_SQL, (database,))
    charset, collation = cur.fetchone()
    return DatabaseFacts(
        tables=facts,
        objects=database_objects(cur, database),
        auto_increments=read_auto_increments(cur, database) if auto_increments is None else auto_increments,
        server_version=version,
        flavour="mariadb" if "mariadb" in version.lower() else "mysql",
        charset=charset,
        collation=collation,
    )


INTEGER_KEY_SQL = """
SELECT k.COLUMN_NAME FROM information_schema.STATISTICS k
JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
WHERE k.TABLE_SCHEMA = %s AND k.TABLE_NAME = %s AND k.INDEX_NAME = 'PRIMARY'
  AND c.DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint')
  AND (SELECT COUNT(*) FROM information_schema.STATISTICS s
       WHERE s.TABLE_SCHEMA = k.TABLE_SCHEMA AND s.TABLE_NAME = k.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY') = 1
"""


ESTIMATED_ROWS_SQL = "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"


def key_ranges(cur: Cursor, database: str, table: str, columns: Sequence[tuple[str, str]], *,
               like: KeyRanges | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS) -> KeyRanges | None:
    """Rows and checksum per range of the table's single-column integer primary key, in one scan; `like`
    reuses a manifest's key and bounds so the ranges line up with the captured ones, else the ranges hold about
    `segment_rows` rows each by the server's row estimate. None when the table has no such key (or is empty at
    capture), or not `like`'s (a restore whose key was dropped or renamed is not narrowed by it)."""
    target = f"{quote_identifier(database)}.{quote_identifier(table)}"
    cur.execute(INTEGER_KEY_SQL, (database, table))
    found = cur.fetchone()
    if found is None or (like is not None and like.key != str(found[0])):
        return None
    key = str(found[0])
    if like is None:
        cur.execute(f"SELECT MIN({quote_identifier(key)}), MAX({quote_identifier(key)}) FROM {target}")  # noqa: S608
        low, high = cur.fetchone()
        if low is None:
            return None
        cur.execute(ESTIMATED_ROWS_SQL, (database, table))  # InnoDB's estimate; NULL for some engines
        found = cur.fetchone()
        estimate = int(found[0]) if found and found[0] is not None else None
        like = layout(key, estimate, int(low), int(high), segment_rows)
    cur.execute("SELECT @@SESSION.div_precision_increment")
    (saved,) = cur.fetchone()
    cur.execute("SET SESSION div_precision_increment = 30")  # exact enough for FLOOR of any BIGINT quotient
    try:
        cur.execute(key_ranges_sql(database, table, columns, like))
        found_ranges = cur.fetchall()
    finally:  # as it was: the store's assertions run on this session after the measurement
        cur.execute("SET SESSION div_precision_increment = %s", (int(saved),))
    return like.model_copy(update={"ranges": {int(b): (int(n), format_checksum(int(total)))
                                              for b, n, total in found_ranges}})


def table_schemas(cur: Cursor, database: str) -> dict[str, dict[str, str]]:
    """Each base table's schema (table, columns, indexes, constraints, triggers) as measure_database reads it,
    without reading a row (the live reference, verifiers/stores/mysql/live.py)."""
    cur.execute(TABLES_SQL, (database,))
    return _table_schemas(cur, database, cur.fetchall(), _columns(cur, database))


def table_columns(cur: Cursor, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's COLUMNS_SQL rows, in ordinal order (the self-test re-checksums one table with them)."""
    return _columns(cur, database)


def _columns(cur: Cursor, database: str) -> dict[str, list[tuple[Any, ...]]]:
    cur.execute(COLUMNS_SQL, (database,))
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in cur.fetchall():
        out.setdefault(row[0], []).append(row)
    return out


def _table_schemas(cur: Cursor, database: str, tables: Sequence[tuple[Any, ...]],
                   columns: dict[str, list[tuple[Any, ...]]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, engine, collation, options, comment in tables:
        parts = [f"ENGINE={engine}", f"COLLATE={collation}"]
        if options:
            parts.append(str(options))
        if comment:
            parts.append(f"COMMENT={comment!r}")
        out[table] = {"table": " ".join(parts)}
    for table, column, _pos, _kind, column_type, nullable, default, extra, charset, col_collation, generated in (
            row for rows in columns.values() for row in rows):
        if table not in out:
            continue
        parts = [column_type]
        if charset:
            parts.append(f"CHARACTER SET {charset} COLLATE {col_collation}")
        parts.append("NULL" if nullable == "YES" else "NOT NULL")
        if default is not None:
            parts.append(f"DEFAULT {default}")
        if generated:
            parts.append(f"AS ({generated})")
        if extra:
            parts.append(str(extra).upper())
        out[table][f"column {column}"] = " ".join(parts)
    _add_indexes(cur, database, out)
    _add_constraints(cur, database, out)
    cur.execute(TRIGGERS_SQL, (database,))
    for table, trigger in cur.fetchall():
        if table in out:
            row = _show_create(cur, "TRIGGER", database, trigger)
            out[table][f"trigger {trigger}"] = f"{normalise(row[2])} /* sql_mode={row[1]} */"
    return out


def _add_indexes(cur: Cursor, database: str, out: dict[str, dict[str, str]]) -> None:
    cur.execute(INDEXES_SQL, (database,))
    indexes: dict[tuple[str, str], tuple[bool, str, list[str]]] = {}
    for table, index, non_unique, column, sub_part, collation, index_type in cur.fetchall():
        key = (table, index)
        part = (column or "(expression)") + (f"({sub_part})" if sub_part else "") + (" DESC" if collation == "D"
                                                                                       else "")
        unique, kind, parts = indexes.setdefault(key, (not int(non_unique), str(index_type), []))
        parts.append(part)
    for (table, index), (unique, kind, parts) in indexes.items():
        if table in out:
            out[table][f"index {index}"] = f"{'UNIQUE ' if unique else ''}({', '.join(parts)}) USING {kind}"


def _add_constraints(cur: Cursor, database: str, out: dict[str, dict[str, str]]) -> None:
    cur.execute(FOREIGN_KEYS_SQL, (database,))
    keys: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in cur.fetchall():
        keys.setdefault((row[0], row[1]), []).append(row)
    for (table, name), rows in keys.items():
        if table in out:
            cols = ", ".join(r[2] for r in rows)
            refs = ", ".join(r[5] for r in rows)
            first = rows[0]
            out[table][f"constraint {name}"] = (f"FOREIGN KEY ({cols}) REFERENCES {first[3]}.{first[4]} ({refs}) "
                                                f"ON UPDATE {first[6]} ON DELETE {first[7]}")
    try:
        cur.execute(CHECKS_MARIADB_SQL, (database,))
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != ER_BAD_FIELD:
            raise
        cur.execute(CHECKS_MYSQL_SQL, (database,))
    for table, name, clause in cur.fetchall():
        if table in out:
            out[table][f"constraint {name}"] = f"CHECK ({normalise(clause)})"


def _show_create(cur: Cursor, kind: str, database: str, name: str) -> tuple[Any, ...]:
    cur.execute(f"SHOW CREATE {kind} {quote_identifier(database)}.{quote_identifier(name)}")
    row = cur.fetchone()
    body_at = {"TRIGGER": 2, "VIEW": 1, "PROCEDURE": 2, "FUNCTION": 2, "EVENT": 3}[kind]
    if row is None or row[body_at] is None:
        raise DefinitionUnreadable(f"{kind.lower()} {qualified(database, name)}")
    return tuple(row)


def database_objects(cur: Cursor, database: str) -> dict[str, str]:
    objects: dict[str, str] = {}
    cur.execute(SCHEMA_SQL, (database,))
    row = cur.fetchone()
    if row is not None:
        objects[f"database {database}"] = f"CHARACTER SET {row[0]} COLLATE {row[1]}"
    cur.execute(VIEWS_SQL, (database,))
    for (view,) in cur.fetchall():
        objects[f"view {qualified(database, view)}"] = normalise(_show_create(cur, "VIEW", database, view)[1])
    cur.execute(ROUTINES_SQL, (database,))
    for kind, routine in cur.fetchall():
        row = _show_create(cur, kind, database, routine)
        objects[f"{kind.lower()} {qualified(database, routine)}"] = f"{normalise(row[2])} /* sql_mode={row[1]} */"
    cur.execute(EVENTS_SQL, (database,))
    for (event,) in cur.fetchall():
        row = _show_create(cur, "EVENT", database, event)
        objects[f"event {qualified(database, event)}"] = (f"{normalise(row[3])} /* sql_mode={row[1]} "
                                                          f"time_zone={row[2]} */")
    return objects


def read_auto_increments(cur: Cursor, database: str) -> dict[str, AutoIncrementFacts]:
    """Each table's AUTO_INCREMENT counter and the largest value of its column.

    Counters are not transactional: capture reads them while writes are held off, before the dump starts, so
    the dump's counters can only be at or ahead of the manifest's."""
    cur.execute("SELECT @@SESSION.auto_increment_increment")
    increment = int(cur.fetchone()[0])
    cur.execute(AUTO_INCREMENT_SQL, (database,))
    out: dict[str, AutoIncrementFacts] = {}
    for table, counter, column in cur.fetchall():
        cur.execute(f"SELECT MAX({quote_identifier(column)}) FROM "  # noqa: S608 - quoted identifiers only
                    f"{quote_identifier(database)}.{quote_identifier(table)}")
        top = cur.fetchone()[0]
        out[qualified(database, table)] = AutoIncrementFacts(
            next_value=int(counter), increment=increment, feeds=[f"{qualified(database, table)}.{column}"],
            column_max=int(top) if top is not None else None,
        )
    return out


KEY_COLUMNS_SQL = """
SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.STATISTICS k
JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
WHERE k.TABLE_SCHEMA = %s AND k.TABLE_NAME = %s AND k.INDEX_NAME = 'PRIMARY'
ORDER BY k.SEQ_IN_INDEX
"""


def key_hashes(cur: Cursor, database: str, table: str, columns: Sequence[tuple[str, str]], *,
               like: HashSegments | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS) -> HashSegments | None:
    """Rows and checksum per key-hash segment (verifiers/stores/hash_ranges.py) of a table without a
    single-column integer key, in one scan: the top bits of the row hash of its primary key's columns (the
    checksum's own row hash over just those columns; the whole row's without a key) pick the segment. `like`
    cuts them as a manifest's were; else about `segment_rows` rows each by the server's estimate. None when
    `like` was hashed by other key columns (the restore's key differs)."""
    cur.execute(KEY_COLUMNS_SQL, (database, table))
    key = [(str(name), str(kind)) for name, kind in cur.fetchall()]
    label = "key-hash" if key else "row-hash"
    algorithm = (f"{label}: row hash of ({', '.join(name for name, _ in key or columns)}), MySQL, v1")
    if like is not None and like.algorithm != algorithm:
        return None
    if like is None:
        cur.execute(ESTIMATED_ROWS_SQL, (database, table))  # InnoDB's estimate; NULL for some engines
        found = cur.fetchone()
        rows = int(found[0]) if found and found[0] else None
        if rows is None:
            cur.execute(f"SELECT COUNT(*) FROM {quote_identifier(database)}.{quote_identifier(table)}")  # noqa: S608
            rows = int(cur.fetchone()[0])
        bits = segment_bits(rows, segment_rows)
    else:
        bits = like.bits
    cur.execute(key_hashes_sql(database, table, columns, key or columns, bits))
    segments = {int(b): (int(n), format_checksum(int(total))) for b, n, total in cur.fetchall()}
    return HashSegments(algorithm=algorithm, bits=bits, segments=dict(sorted(segments.items())))

