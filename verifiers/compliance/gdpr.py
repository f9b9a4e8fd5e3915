"""GDPR erasure replay. A backup taken before a subject's erasure still holds the subject: restoring it into
production resurrects them. After a restore, per subject of the erasure ledger:

- erased AFTER the backup was taken and present: expected; reported as "must be re-erased before this backup
  goes live" (the check passes, the list is the runbook's to-do);
- erased BEFORE the backup was taken and present: the erasure did not reach the data (or the backup is not what
  it claims to be): a failure.

With `erase_sql`, the user's erasure statements run in the sandbox for every subject found, and every place
is checked again: proof that the runbook's SQL erases them. Subject ids never enter a report or a log: only
their salted hashes (HMAC-SHA256 with the salt from `salt_env`, else a random salt per run, said so).
"""

from __future__ import annotations

import csv
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult
from verifiers.compliance.settings import SUBJECT_PLACEHOLDER, GdprSettings, KeyPlace, SqlPlace
from verifiers.errors import InventoryError, SandboxError, SourceError

BEFORE, AFTER, REPLAY = "erased before backup", "erased after backup", "erasure replay"
LISTED = 20  # hashed ids shown per check
_BATCH = 5000
_GLOB = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True)
class Erasure:
    subject: str
    erased_at: datetime


@dataclass(frozen=True)
class SubjectHasher:
    """Salted hashes of subject ids: the same id gives the same hash within a salt, and nothing else."""

    salt: bytes
    random: bool

    @classmethod
    def from_env(cls, name: str) -> SubjectHasher:
        given = os.environ.get(name, "")
        return cls(given.encode(), False) if given else cls(secrets.token_bytes(16), True)

    def __call__(self, subject: str) -> str:
        return "h:" + hmac.new(self.salt, subject.encode(), sha256).hexdigest()[:16]

    def listing(self, subjects: Iterable[str]) -> str:
        hashed = sorted(self(s) for s in subjects)
        shown = ", ".join(hashed[:LISTED])
        return shown + (f" and {len(hashed) - LISTED} more" if len(hashed) > LISTED else "")


def read_ledger(settings: GdprSettings, *, base_dir: Path, store: str) -> list[Erasure]:
    """Every erasure of the ledger (file or table). Errors name the ledger and the line, never a subject id."""
    if settings.ledger_table is not None:
        return _ledger_table(settings, store=store)
    assert settings.ledger is not None
    path = Path(settings.ledger) if Path(settings.ledger).is_absolute() else base_dir / settings.ledger
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"store {store}: erasure ledger {path} (stores.gdpr.ledger) cannot be read: "
                          f"{exc.strerror}", hint="fix the path; it is relative to the inventory file") from None
    rows = _jsonl_rows(text, path, store) if path.suffix == ".jsonl" else _csv_rows(text, path, store)
    return [_erasure(row, where, path, store) for where, row in rows]


def _csv_rows(text: str, path: Path, store: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"subject_id", "erased_at"} <= set(reader.fieldnames):
        raise InventoryError(f"store {store}: erasure ledger {path} has no header `subject_id,erased_at`",
                             hint="the first line names the columns: subject_id,erased_at (ISO 8601 times)")
    return [(f"line {n}", dict(row)) for n, row in enumerate(reader, start=2)]


def _jsonl_rows(text: str, path: Path, store: str) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            raise InventoryError(f"store {store}: erasure ledger {path} line {n} is not a JSON object",
                                 hint='each line is {"subject_id": "...", "erased_at": "2026-11-01T10:00:00Z"}')
        rows.append((f"line {n}", row))
    return rows


def _erasure(row: dict[str, Any], where: str, path: Path, store: str) -> Erasure:
    subject, stamp = row.get("subject_id"), row.get("erased_at")
    if subject in (None, "") or not isinstance(stamp, str):
        raise InventoryError(f"store {store}: erasure ledger {path} {where} lacks subject_id or erased_at",
                             hint="every entry needs both; erased_at as ISO 8601, e.g. 2026-11-01T10:00:00Z")
    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InventoryError(f"store {store}: erasure ledger {path} {where}: erased_at is not an ISO 8601 time",
                             hint="write e.g. 2026-11-01T10:00:00Z (a time without offset is read as UTC)") from None
    return Erasure(str(subject), when if when.tzinfo else when.replace(tzinfo=UTC))


def _ledger_table(settings: GdprSettings, *, store: str) -> list[Erasure]:
    import psycopg
    from psycopg import sql

    table = settings.ledger_table
    assert table is not None
    dsn = os.environ.get(table.dsn_env, "")
    if not dsn:
        raise InventoryError(f"store {store}: the erasure ledger's DSN is not set (env {table.dsn_env})",
                             hint=f"export {table.dsn_env}=<libpq DSN of the database holding {table.table}>")
    query = sql.SQL("SELECT {}::text, {} FROM {}").format(
        sql.Identifier(table.subject_column), sql.Identifier(table.erased_at_column),
        sql.Identifier(*table.table.split(".", 1)))
    try:
        with psycopg.connect(dsn, connect_timeout=30) as conn:
            conn.read_only = True
            rows = conn.execute(query).fetchall()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"store {store}: cannot read the erasure ledger table {table.table}: {first}",
                          hint=f"check {table.dsn_env}, the table and its columns, and SELECT rights") from None
    out = []
    for subject, when in rows:
        if subject is None or not isinstance(when, datetime):
            raise SourceError(f"store {store}: erasure ledger table {table.table} has a row without a subject or a "
                              "timestamp", hint=f"{table.erased_at_column} must be a non-null timestamptz")
        out.append(Erasure(subject, when if when.tzinfo else when.replace(tzinfo=UTC)))
    return out


def split_by_backup(ledger: Sequence[Erasure], backup_time: datetime) -> tuple[set[str], set[str]]:
    """(erased before the backup, erased after it); a subject erased twice counts by its last erasure."""
    last: dict[str, datetime] = {}
    for entry in ledger:
        last[entry.subject] = max(entry.erased_at, last.get(entry.subject, entry.erased_at))
    before = {s for s, t in last.items() if t < backup_time}
    return before, set(last) - before


Finder = Callable[[set[str]], set[str]]  # which of these subjects are present in the restored data


def postgres_finder(conn: Any, places: Sequence[SqlPlace], *, store: str) -> Finder:
    """Subjects present in any of the tables' columns (compared as text, so integer, uuid and text ids alike)."""
    import psycopg
    from psycopg import sql

    def find(subjects: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(subjects)
        for place in places:
            query = sql.SQL("SELECT DISTINCT {col}::text FROM {table} WHERE {col}::text = ANY(%s)").format(
                col=sql.Identifier(place.column), table=sql.Identifier(*place.table.split(".", 1)))
            for start in range(0, len(ordered), _BATCH):
                try:
                    with conn.transaction():
                        rows = conn.execute(query, (ordered[start:start + _BATCH],)).fetchall()
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as exc:
                    first = str(exc).strip().splitlines()[0]
                    raise SandboxError(f"store {store}: gdpr place {place.table}.{place.column} cannot be read in "
                                       f"the restored database: {first}",
                                       hint="fix stores.gdpr.places (schema.table and column)") from None
                found.update(r[0] for r in rows)
        return found

    return find


def redis_finder(client_for: Callable[[int], Any], places: Sequence[KeyPlace]) -> Finder:
    """Subjects with a key in any of the patterns: EXISTS for exact keys (pipelined), SCAN MATCH for globs."""

    def find(subjects: set[str]) -> set[str]:
        found: set[str] = set()
        for place in places:
            client = client_for(place.db)
            ordered = sorted(subjects - found)
            if _GLOB.search(place.pattern.replace(SUBJECT_PLACEHOLDER, "")) is None:
                pipe = client.pipeline(transaction=False)
                for subject in ordered:
                    pipe.exists(place.pattern.replace(SUBJECT_PLACEHOLDER, subject))
                found.update(s for s, hit in zip(ordered, pipe.execute(), strict=True) if hit)
                continue
            for subject in ordered:
                match = place.pattern.replace(SUBJECT_PLACEHOLDER, _GLOB.sub(r"\\\1", subject))
                if next(iter(client.scan_iter(match=match, count=1000)), None) is not None:
                    found.add(subject)
        return found

    return find


def judge_presence(before: set[str], after: set[str], present: set[str],
                   hasher: SubjectHasher) -> list[CheckResult]:
    """`present`: the ledger's subjects found in the restored data."""
    stale, pending = present & before, present & after
    salt = "random per run" if hasher.random else "from the configured salt"
    if stale:
        message = (f"{len(stale)} of {len(before)} subjects erased before this backup was taken are still in it: "
                   f"{hasher.listing(stale)} (salted hashes, {salt})")
    else:
        message = f"none of the {len(before)} subjects erased before this backup was taken is in it"
    results = [CheckResult("gdpr", BEFORE, not stale, len(stale), 0, message)]
    if pending:
        message = (f"{len(pending)} of {len(after)} subjects erased after this backup was taken are in it: must be "
                   f"re-erased before this backup goes live: {hasher.listing(pending)} (salted hashes, {salt})")
    else:
        message = f"none of the {len(after)} subjects erased after this backup was taken is in it"
    results.append(CheckResult("gdpr", AFTER, True, len(pending), "re-erase before going live", message))
    return results


Eraser = Callable[[set[str]], str | None]  # runs the erasure SQL for these subjects; the error, or None


def postgres_eraser(conn: Any, statements: Sequence[str]) -> Eraser:
    """One transaction for every subject's statements, %(subject)s bound (as text)."""
    import psycopg

    from verifiers.stores.postgres.restore import redact

    def erase(subjects: set[str]) -> str | None:
        try:
            with conn.transaction():
                for subject in sorted(subjects):
                    for statement in statements:
                        conn.execute(statement, {"subject": subject})
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            return redact(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
        return None

    return erase


def mysql_eraser(conn: Any, statements: Sequence[str]) -> Eraser:
    """The same for MySQL/MariaDB (pymysql's paramstyle is %(subject)s too), committed once."""
    import pymysql

    from verifiers.stores.postgres.restore import redact

    def erase(subjects: set[str]) -> str | None:
        try:
            with conn.cursor() as cur:
                for subject in sorted(subjects):
                    for statement in statements:
                        cur.execute(statement, {"subject": subject})
            conn.commit()
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in _MYSQL_GONE:
                raise
            conn.rollback()
            return redact(str(exc.args[-1]))
        except pymysql.err.MySQLError as exc:
            conn.rollback()
            return redact(str(exc.args[-1]) if exc.args else type(exc).__name__)
        return None

    return erase


_MYSQL_GONE = (2003, 2006, 2013)  # can't connect, server has gone away, lost connection


def mysql_finder(conn: Any, places: Sequence[SqlPlace], *, database: str, store: str) -> Finder:
    """Subjects present in any of the tables' columns (`table` or `database.table`), compared as text."""
    import pymysql

    from verifiers.stores.mysql.rowhash import quote_identifier

    def find(subjects: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(subjects)
        for place in places:
            schema, _, table = place.table.rpartition(".")
            where = f"{quote_identifier(schema or database)}.{quote_identifier(table)}"
            column = quote_identifier(place.column)
            for start in range(0, len(ordered), _BATCH):
                batch = ordered[start:start + _BATCH]
                query = (f"SELECT DISTINCT CAST({column} AS CHAR) FROM {where} "  # noqa: S608 - quoted identifiers
                         f"WHERE CAST({column} AS CHAR) IN ({', '.join(['%s'] * len(batch))})")
                try:
                    with conn.cursor() as cur:
                        cur.execute(query, batch)
                        found.update(str(r[0]) for r in cur.fetchall())
                except pymysql.err.OperationalError as exc:
                    if exc.args and exc.args[0] in _MYSQL_GONE:
                        raise
                    raise _unreadable(store, place, str(exc.args[-1])) from None
                except pymysql.err.MySQLError as exc:
                    raise _unreadable(store, place, str(exc.args[-1]) if exc.args else type(exc).__name__) from None
        return found

    return find


def _unreadable(store: str, place: SqlPlace, reason: str) -> SandboxError:
    return SandboxError(f"store {store}: gdpr place {place.table}.{place.column} cannot be read in the restored "
                        f"database: {reason}", hint="fix stores.gdpr.places (table and column)")


def replay_erasure(erase: Eraser, subjects: set[str], find: Finder, *, hasher: SubjectHasher) -> CheckResult:
    """Run the erasure statements for each subject in the sandbox, then look again: none may remain."""
    error = erase(subjects)
    if error is not None:
        return CheckResult("gdpr", REPLAY, False, None, 0, f"the erasure SQL failed in the sandbox: {error}")
    remaining = find(subjects)
    if remaining:
        return CheckResult("gdpr", REPLAY, False, len(remaining), 0,
                           f"after the erasure SQL ran for {len(subjects)} subjects, {len(remaining)} are still "
                           f"present: {hasher.listing(remaining)}")
    return CheckResult("gdpr", REPLAY, True, 0, 0,
                       f"the erasure SQL ran for the {len(subjects)} subjects found; none is present after it")
