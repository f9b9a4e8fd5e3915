"""The restored-data checks (verifiers/compliance/: canary, GDPR erasure replay) in a MySQL/MariaDB sandbox, and
`restoreproof canary write` into a live MySQL/MariaDB: the SQL they run (names quoted by quote_identifier), and
what a lost server looks like."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.compliance.canary import Canary, new_token
from verifiers.compliance.gdpr import BATCH, Eraser, Finder
from verifiers.compliance.restored import CanaryProbe, SandboxLost
from verifiers.compliance.settings import CanarySettings, Place, SqlPlace
from verifiers.errors import SandboxError, SourceError
from verifiers.stores.mysql.dsn import parse_dsn
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import quote_identifier

GONE = (2003, 2006, 2013)  # can't connect, server has gone away, lost connection


@dataclass(frozen=True)
class RestoredMysql:
    """The restored database, as verifiers/compliance/restored.py's RestoredData; no migrations run here."""

    connect: Callable[[], Connection[Cursor]]  # to the restored database
    database: str
    store: str

    @contextmanager
    def session(self) -> Iterator[MysqlSession]:
        try:
            conn = self.connect()
            try:
                yield MysqlSession(conn, self.database, self.store)
            finally:
                conn.close()
        except pymysql.err.OperationalError as exc:
            raise SandboxLost(str(exc.args[-1]) if exc.args else str(exc),
                              hint="the server may have been killed or run out of memory or disk") from None

    def migration_target(self) -> None:
        return None


@dataclass(frozen=True)
class MysqlSession:
    conn: Connection[Cursor]
    database: str
    store: str

    def canary_probe(self, settings: CanarySettings) -> CanaryProbe:
        conn, table = self.conn, quote_identifier(settings.table)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT MAX(written_at) FROM {table}")  # noqa: S608 - a quoted identifier
                row = cur.fetchone()
        except pymysql.err.ProgrammingError:
            return (lambda _token: False), None  # no canary table in the backup: judged as "not present"

        def present(token: str) -> bool:
            with conn.cursor() as cur:
                cur.execute(f"SELECT 1 FROM {table} WHERE token = %s", (token,))  # noqa: S608 - a quoted identifier
                return cur.fetchone() is not None

        newest = row[0] if row else None
        return present, newest.replace(tzinfo=UTC) if isinstance(newest, datetime) else None

    def gdpr_finder(self, places: Sequence[Place]) -> Finder:
        """Subjects present in any of the tables' columns (`table` or `database.table`), compared as text."""
        conn, database, store = self.conn, self.database, self.store
        tables = [p for p in places if isinstance(p, SqlPlace)]

        def find(subjects: set[str]) -> set[str]:
            found: set[str] = set()
            ordered = sorted(subjects)
            for place in tables:
                schema, _, table = place.table.rpartition(".")
                where = f"{quote_identifier(schema or database)}.{quote_identifier(table)}"
                column = quote_identifier(place.column)
                for start in range(0, len(ordered), BATCH):
                    batch = ordered[start:start + BATCH]
                    query = (f"SELECT DISTINCT CAST({column} AS CHAR) FROM {where} "  # noqa: S608 - quoted names
                             f"WHERE CAST({column} AS CHAR) IN ({', '.join(['%s'] * len(batch))})")
                    try:
                        with conn.cursor() as cur:
                            cur.execute(query, batch)
                            found.update(str(r[0]) for r in cur.fetchall())
                    except pymysql.err.OperationalError as exc:
                        if exc.args and exc.args[0] in GONE:
                            raise
                        raise _unreadable(store, place, str(exc.args[-1])) from None
                    except pymysql.err.MySQLError as exc:
                        raise _unreadable(store, place, str(exc.args[-1]) if exc.args else type(exc).__name__
                                          ) from None
            return found

        return find

    def gdpr_eraser(self, statements: Sequence[str]) -> Eraser:
        """The statements for every subject (pymysql's paramstyle is %(subject)s too), committed once."""
        conn = self.conn

        def erase(subjects: set[str]) -> str | None:
            try:
                with conn.cursor() as cur:
                    for subject in sorted(subjects):
                        for statement in statements:
                            cur.execute(statement, {"subject": subject})
                conn.commit()
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] in GONE:
                    raise
                conn.rollback()
                return redact(str(exc.args[-1]))
            except pymysql.err.MySQLError as exc:
                conn.rollback()
                return redact(str(exc.args[-1]) if exc.args else type(exc).__name__)
            return None

        return erase


def _unreadable(store: str, place: SqlPlace, reason: str) -> SandboxError:
    return SandboxError(f"store {store}: gdpr place {place.table}.{place.column} cannot be read in the restored "
                        f"database: {reason}", hint="fix stores.gdpr.places (table and column)")


class MysqlCanaryWriter:
    """A row in the opt-in canary table of the DSN's database; times are UTC_TIMESTAMP(6), a DATETIME(6) read back
    as UTC."""

    option = "dsn"

    def write(self, target: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
        dsn = parse_dsn(target, what="canary write")
        table = quote_identifier(settings.table)
        token = new_token(store)
        try:
            conn = pymysql.connect(**dsn.connect_kwargs())
            try:
                with conn.cursor() as cur:
                    if create:
                        cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (token VARCHAR(80) PRIMARY KEY, "
                                    "written_at DATETIME(6) NOT NULL) ENGINE=InnoDB")
                    cur.execute(f"INSERT INTO {table} (token, written_at) VALUES (%s, UTC_TIMESTAMP(6))",  # noqa: S608
                                (token,))
                    cur.execute(f"SELECT written_at FROM {table} WHERE token = %s", (token,))  # noqa: S608
                    row = cur.fetchone()
                conn.commit()
            finally:
                conn.close()
        except pymysql.err.MySQLError as exc:
            reason = exc.args[-1] if exc.args else type(exc).__name__
            raise SourceError(f"store {store}: cannot write the canary into {settings.table} ({dsn.redacted()}): "
                              f"{reason}", hint="create the opt-in table (or pass --create-table) and grant INSERT "
                              "on it") from None
        assert row is not None
        return Canary(token, row[0].replace(tzinfo=UTC))


CANARY_WRITER = MysqlCanaryWriter()
