"""The restored-data checks (verifiers/compliance/: canary, GDPR erasure replay, migrations) in a PostgreSQL
sandbox, and `restoreproof canary write` into a live PostgreSQL: the SQL they run (names composed with
psycopg.sql), the migration command's target, and what a lost server looks like."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from verifiers.compliance.canary import Canary, new_token
from verifiers.compliance.gdpr import BATCH, Eraser, Finder
from verifiers.compliance.restored import CanaryProbe, MigrationTarget, SandboxLost
from verifiers.compliance.settings import CanarySettings, Place, SqlPlace
from verifiers.errors import SandboxError, SourceError
from verifiers.stores.postgres.local_server import SUPERUSER
from verifiers.stores.postgres.network_server import NetworkPostgres, PostgresTarget
from verifiers.stores.postgres.restore import RESTORE_DATABASE, redact


def sandbox_url(server: PostgresTarget, database: str | None = None) -> str:
    """postgresql:// URL of the restored database: a local sandbox's through its unix socket (no password)."""
    if isinstance(server, NetworkPostgres):
        return server.url(database)
    return (f"postgresql://{SUPERUSER}@/{quote(database or RESTORE_DATABASE, safe='')}"
            f"?host={quote(str(server.socket_dir), safe='')}&port={server.port}")


@dataclass(frozen=True)
class RestoredPostgres:
    """The restored database, as verifiers/compliance/restored.py's RestoredData."""

    conninfo: str
    store: str
    url: str  # for the migration command (with a password where the server has one: never shown)
    env: Mapping[str, str] = field(default_factory=dict)  # libpq's PG* variables, for the migration command

    @classmethod
    def of(cls, server: PostgresTarget, database: str, *, store: str) -> RestoredPostgres:
        return cls(server.conninfo(database), store, sandbox_url(server, database), server.client_env(database))

    @contextmanager
    def session(self) -> Iterator[PostgresSession]:
        try:
            with psycopg.connect(self.conninfo) as conn:
                conn.autocommit = True
                yield PostgresSession(conn, self.store)
        except psycopg.OperationalError as exc:
            raise SandboxLost(redact(str(exc)), hint="the server may have been killed or run out of memory") from None

    def migration_target(self) -> MigrationTarget:
        return MigrationTarget(self.url, self.env, redact=redact)


@dataclass(frozen=True)
class PostgresSession:
    conn: psycopg.Connection[Any]
    store: str

    def canary_probe(self, settings: CanarySettings) -> CanaryProbe:
        conn, table = self.conn, _table(settings.table)
        try:
            with conn.transaction():
                row = conn.execute(sql.SQL("SELECT max(written_at) FROM {}").format(table)).fetchone()
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            return (lambda _token: False), None  # no canary table in the backup: judged as "not present"

        def present(token: str) -> bool:
            with conn.transaction():
                return conn.execute(sql.SQL("SELECT 1 FROM {} WHERE token = %s").format(table),
                                    (token,)).fetchone() is not None

        return present, row[0] if row else None

    def gdpr_finder(self, places: Sequence[Place]) -> Finder:
        """Subjects present in any of the tables' columns (compared as text, so integer, uuid and text ids alike)."""
        conn, store = self.conn, self.store
        tables = [p for p in places if isinstance(p, SqlPlace)]

        def find(subjects: set[str]) -> set[str]:
            found: set[str] = set()
            ordered = sorted(subjects)
            for place in tables:
                query = sql.SQL("SELECT DISTINCT {col}::text FROM {table} WHERE {col}::text = ANY(%s)").format(
                    col=sql.Identifier(place.column), table=_table(place.table))
                for start in range(0, len(ordered), BATCH):
                    try:
                        with conn.transaction():
                            rows = conn.execute(query, (ordered[start:start + BATCH],)).fetchall()
                    except psycopg.OperationalError:
                        raise
                    except psycopg.Error as exc:
                        first = str(exc).strip().splitlines()[0]
                        raise SandboxError(f"store {store}: gdpr place {place.table}.{place.column} cannot be read "
                                           f"in the restored database: {first}",
                                           hint="fix stores.gdpr.places (schema.table and column)") from None
                    found.update(r[0] for r in rows)
            return found

        return find

    def gdpr_eraser(self, statements: Sequence[str]) -> Eraser:
        """One transaction for every subject's statements, %(subject)s bound (as text)."""
        conn = self.conn

        def erase(subjects: set[str]) -> str | None:
            try:
                with conn.transaction():
                    for subject in sorted(subjects):
                        for statement in statements:  # the team's own, from the inventory: run as written
                            conn.execute(statement, {"subject": subject})
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                return redact(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
            return None

        return erase


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split(".", 1))  # schema.table, or a table on the search path


class PostgresCanaryWriter:
    """A row in the opt-in canary table of the live database: the token and the server's now()."""

    option = "dsn"

    def write(self, target: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
        table = _table(settings.table)
        token = new_token(store)
        try:
            with psycopg.connect(target, connect_timeout=30) as conn:
                if create:
                    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (token text PRIMARY KEY, "
                                         "written_at timestamptz NOT NULL DEFAULT now())").format(table))
                row = conn.execute(sql.SQL("INSERT INTO {} (token, written_at) VALUES (%s, now()) "
                                           "RETURNING written_at").format(table), (token,)).fetchone()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"store {store}: cannot write the canary into {settings.table}: {first}",
                              hint="create the opt-in table (or pass --create-table) and grant INSERT on it") from None
        assert row is not None
        return Canary(token, row[0])


CANARY_WRITER = PostgresCanaryWriter()
