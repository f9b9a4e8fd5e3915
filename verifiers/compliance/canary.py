"""Canaries: proof the backup came from the right database and is as fresh as it claims. `restoreproof canary
write` inserts a row (PostgreSQL, into an opt-in table) or a key (Redis) carrying a random token and the
server's time into the LIVE store, and appends {token, written_at} to the store's canary log. Verification
takes the newest canary written before the backup's time and asserts the restored data holds its token.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult
from verifiers.compliance.settings import CanarySettings
from verifiers.errors import InventoryError, SourceError

SUBJECT = "canary"


@dataclass(frozen=True)
class Canary:
    token: str
    written_at: datetime

    def record(self, store: str) -> dict[str, str]:
        return {"store": store, "token": self.token, "written_at": self.written_at.astimezone(UTC).isoformat()}


def log_path(settings: CanarySettings, *, base_dir: Path, store: str) -> Path:
    name = settings.log or f"canary-{store}.jsonl"
    return Path(name) if Path(name).is_absolute() else base_dir / name


def read_log(path: Path, *, store: str) -> list[Canary]:
    """The canaries written for `store` (a missing log is an empty one: none written yet)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SourceError(f"store {store}: canary log {path} cannot be read: {exc.strerror}",
                          hint="fix stores.canary.log (relative to the inventory) or its permissions") from None
    found = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            canary = Canary(str(row["token"]), datetime.fromisoformat(str(row["written_at"])))
        except (ValueError, KeyError, TypeError):
            raise InventoryError(f"store {store}: canary log {path} line {n} is not a canary record",
                                 hint="the log is written by `restoreproof canary write`; remove the damaged "
                                 "line") from None
        if row.get("store", store) == store:
            found.append(canary)
    return found


def newest_before(canaries: Sequence[Canary], moment: datetime) -> Canary | None:
    older = [c for c in canaries if c.written_at < moment]
    return max(older, key=lambda c: c.written_at) if older else None


def append_log(path: Path, canary: Canary, *, store: str) -> None:
    """One JSON line, flushed to disk: the log is the reference verification trusts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(canary.record(store)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def new_token(store: str) -> str:
    return f"{store}-{secrets.token_hex(8)}"


def write_postgres(dsn: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
    import psycopg
    from psycopg import sql

    table = sql.Identifier(*settings.table.split(".", 1))
    token = new_token(store)
    try:
        with psycopg.connect(dsn, connect_timeout=30) as conn:
            if create:
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (token text PRIMARY KEY, "
                                     "written_at timestamptz NOT NULL DEFAULT now())").format(table))
            row = conn.execute(sql.SQL("INSERT INTO {} (token, written_at) VALUES (%s, now()) RETURNING written_at")
                               .format(table), (token,)).fetchone()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"store {store}: cannot write the canary into {settings.table}: {first}",
                          hint="create the opt-in table (or pass --create-table) and grant INSERT on it") from None
    assert row is not None
    return Canary(token, row[0])


def write_redis(url: str, settings: CanarySettings, *, store: str, password: str | None = None) -> Canary:
    import redis

    token = new_token(store)
    try:
        client = redis.Redis.from_url(url, db=settings.db, **({"password": password} if password else {}))
        seconds, micros = client.time()
        written = datetime.fromtimestamp(seconds + micros / 1e6, tz=UTC)
        client.set(settings.key_prefix + token, written.isoformat())
    except redis.RedisError as exc:
        raise SourceError(f"store {store}: cannot write the canary key: {type(exc).__name__}: {exc}",
                          hint="check the URL and that the user may SET keys under the canary prefix") from None
    return Canary(token, written)


def judge(expected: Canary | None, present: Callable[[str], bool], newest_restored: datetime | None,
          *, backup_time: datetime, log: Path) -> CheckResult:
    """`present(token)`: the restored data holds this canary; `newest_restored`: its newest canary's time."""
    shown = newest_restored.astimezone(UTC).isoformat() if newest_restored else "none"
    if expected is None:
        return CheckResult("canary", SUBJECT, False, f"newest restored canary: {shown}",
                           "a canary older than the backup",
                           f"no canary in {log} was written before this backup ({backup_time.isoformat()}): run "
                           "`restoreproof canary write` before each backup")
    stamp = expected.written_at.astimezone(UTC).isoformat()
    if present(expected.token):
        return CheckResult("canary", SUBJECT, True, expected.token, expected.token,
                           f"the newest canary written before the backup ({stamp}) is in the restored data")
    return CheckResult("canary", SUBJECT, False, f"newest restored canary: {shown}", expected.token,
                       f"the canary written at {stamp}, before the backup was taken, is NOT in the restored data "
                       "(newest canary there: " + shown + "): the backup is older than it claims or comes from "
                       "another database")


def postgres_probe(conn: Any, settings: CanarySettings, *, store: str) -> tuple[Callable[[str], bool],
                                                                               datetime | None]:
    import psycopg
    from psycopg import sql

    table = sql.Identifier(*settings.table.split(".", 1))
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


def mysql_probe(conn: Any, settings: CanarySettings) -> tuple[Callable[[str], bool], datetime | None]:
    import pymysql

    from verifiers.stores.mysql.rowhash import quote_identifier

    table = quote_identifier(settings.table)
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


def write_mysql(dsn: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
    """Into the DSN's database; times are UTC_TIMESTAMP(6), a DATETIME(6) read back as UTC."""
    import pymysql

    from verifiers.stores.mysql.dsn import parse_dsn
    from verifiers.stores.mysql.rowhash import quote_identifier

    target = parse_dsn(dsn, what="canary write")
    table = quote_identifier(settings.table)
    token = new_token(store)
    try:
        conn = pymysql.connect(**target.connect_kwargs())
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
        raise SourceError(f"store {store}: cannot write the canary into {settings.table} ({target.redacted()}): "
                          f"{reason}", hint="create the opt-in table (or pass --create-table) and grant INSERT on it"
                          ) from None
    assert row is not None
    return Canary(token, row[0].replace(tzinfo=UTC))


def redis_probe(client: Any, settings: CanarySettings) -> tuple[Callable[[str], bool], datetime | None]:
    times = []
    for key in client.scan_iter(match=settings.key_prefix.replace("*", r"\*") + "*", count=1000):
        value = client.get(key)
        try:
            times.append(datetime.fromisoformat(value.decode() if isinstance(value, bytes) else str(value)))
        except ValueError:
            continue
    return (lambda token: bool(client.exists(settings.key_prefix + token))), max(times, default=None)
