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
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from verifiers.checks import CheckResult
from verifiers.compliance.settings import GdprSettings
from verifiers.errors import InventoryError, SourceError

BEFORE, AFTER, REPLAY = "erased before backup", "erased after backup", "erasure replay"
LISTED = 20  # hashed ids shown per check
BATCH = 5000  # subjects per query of a finder


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
