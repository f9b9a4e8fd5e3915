"""Compliance checks on a real restore of a real PostgreSQL backup: a canary written with `restoreproof canary
write` into the live database before the capture, the GDPR erasure replay (presence, erasure SQL) and the team's
migrations run in the sandbox; one run where all of them pass and one where each fails, loudly and named."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import failed, verify
from verifiers import cli
from verifiers.compliance.gdpr import SubjectHasher
from verifiers.runner import StoreOutcome
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
LIVE_DB = "compliance_live"
SALT = "RP_TEST_GDPR_SALT"
ERASE = ["DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = %(subject)s)",
         "DELETE FROM users WHERE email = %(subject)s"]
CANARY = {"table": "public.restoreproof_canary"}
PLACES = [{"table": "public.users", "column": "email"}]


@dataclass(frozen=True)
class LiveBackup:
    directory: Path
    captured_at: datetime
    live_conninfo: str


def inventory_text(**store: object) -> str:
    lines = ['[[stores]]', 'name = "saas"', 'kind = "postgres"', 'rto = "15m"', 'rpo = "30d"',
             '[stores.source]', 'type = "file"', 'path = "saas-*.dump"', '[stores.canary]',
             f'table = "{CANARY["table"]}"']
    return "\n".join(lines) + "\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in store.items())


@pytest.fixture(scope="module")
def live_backup(source_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackup]:
    """A small live database, a canary written into it through the CLI, then a real capture."""
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(LIVE_DB)))
    live = source_server.conninfo(LIVE_DB)
    with psycopg.connect(live) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE NOT NULL)")
        conn.execute("CREATE TABLE sessions (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id))")
        conn.execute("INSERT INTO users VALUES (1, 'alice@example.com'), (2, 'bob@example.com'), "
                     "(3, 'dora@example.com')")
        conn.execute("INSERT INTO sessions (user_id) VALUES (1), (2), (2)")
    directory = tmp_path_factory.mktemp("compliance-pg")
    (directory / "inventory.toml").write_text(inventory_text())
    assert cli.main(["canary", "write", "--inventory", str(directory / "inventory.toml"), "--store", "saas",
                     "--dsn", live, "--create-table"]) == 0
    _, manifest = capture_postgres(live, directory, name="saas")
    captured_at = datetime.fromisoformat(json.loads(manifest.read_text())["captured_at"].replace("Z", "+00:00"))
    try:
        yield LiveBackup(directory, captured_at, live)
    finally:
        with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(LIVE_DB)))


def ledger(path: Path, entries: list[tuple[str, datetime]]) -> str:
    path.write_text("subject_id,erased_at\n" + "".join(f"{s},{t.isoformat()}\n" for s, t in entries))
    return str(path)


def by_id(outcome: StoreOutcome) -> dict[str, object]:
    return {f"{c.check}:{c.subject}": c for c in outcome.checks}


def test_canary_gdpr_and_migrations_pass_on_a_faithful_backup(live_backup: LiveBackup, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SALT, "pepper")
    hour = timedelta(hours=1)
    erasures = ledger(tmp_path / "ledger.csv", [("alice@example.com", live_backup.captured_at + hour),
                                                ("carol@example.com", live_backup.captured_at - hour)])
    migration = [sys.executable, "-c", "import os, psycopg; c = psycopg.connect(os.environ['APP_DB']); "
                 "c.execute('ALTER TABLE users ADD COLUMN nickname text'); c.commit()"]
    outcome = verify(live_backup.directory, "saas-*.dump", canary=CANARY,
                     gdpr={"ledger": erasures, "places": PLACES, "erase_sql": ERASE, "salt_env": SALT},
                     migrate={"command": migration, "env_var": "APP_DB"}, hygiene={"retention_days": 1})
    checks = by_id(outcome)
    # the only failure: a backup taken a moment ago has not been kept for a day yet
    assert failed(outcome) == {"retention:retention": checks["retention:retention"].message}  # type: ignore[attr-defined]
    assert checks["rpo_gap:rpo_gap"].passed  # type: ignore[attr-defined]  # API-read checks join a restore run
    assert "the newest canary written before the backup" in checks["canary:canary"].message  # type: ignore[attr-defined]
    pending = checks["gdpr:erased after backup"]
    assert pending.observed == 1  # type: ignore[attr-defined]
    assert "must be re-erased before this backup goes live" in pending.message  # type: ignore[attr-defined]
    assert SubjectHasher(b"pepper", False)("alice@example.com") in pending.message  # type: ignore[attr-defined]
    assert checks["gdpr:erased before backup"].observed == 0  # type: ignore[attr-defined]
    assert "none is present after it" in checks["gdpr:erasure replay"].message  # type: ignore[attr-defined]
    assert checks["migrate:migrate"].observed == "exit 0"  # type: ignore[attr-defined]
    with psycopg.connect(live_backup.live_conninfo) as conn:  # the migration and the erasure ran in the sandbox
        columns = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = 'users'")}
        assert "nickname" not in columns
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (3,)


def test_each_compliance_check_fails_loudly_and_names_why(live_backup: LiveBackup, tmp_path: Path) -> None:
    erasures = ledger(tmp_path / "ledger.csv", [("bob@example.com", live_backup.captured_at - timedelta(hours=1))])
    forged = tmp_path / "canary-forged.jsonl"  # a canary written (to another database) before this backup
    forged.write_text(json.dumps({"store": "saas", "token": "saas-not-in-this-database",
                                  "written_at": (live_backup.captured_at - timedelta(minutes=1)).isoformat()}) + "\n")
    migration = [sys.executable, "-c", "import sys; sys.stderr.write("
                 "'ERROR: duplicate key value violates unique constraint\\nDETAIL: Key (email)=(bob@example.com) "
                 "already exists.\\n'); sys.exit(3)"]
    outcome = verify(live_backup.directory, "saas-*.dump", canary={**CANARY, "log": str(forged)},
                     gdpr={"ledger": erasures, "places": PLACES,
                           "erase_sql": ["DELETE FROM sessions WHERE user_id IN "
                                         "(SELECT id FROM users WHERE email = %(subject)s)"]},
                     migrate={"command": migration})
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert set(problems) == {"canary:canary", "gdpr:erased before backup", "gdpr:erasure replay", "migrate:migrate"}
    assert "is NOT in the restored data" in problems["canary:canary"]
    stale = problems["gdpr:erased before backup"]
    assert "1 of 1 subjects erased before this backup was taken are still in it" in stale
    assert "random per run" in stale  # no salt configured
    assert "1 are still present" in problems["gdpr:erasure replay"]
    assert "exit 3" in problems["migrate:migrate"] and "Key (email)=(<redacted>)" in problems["migrate:migrate"]
    record = json.dumps(outcome.as_evidence())
    assert "bob@example.com" not in record and "alice@example.com" not in record


def test_a_missing_ledger_fails_the_plan_naming_store_and_fix(live_backup: LiveBackup, tmp_path: Path) -> None:
    outcome = verify(live_backup.directory, "saas-*.dump",
                     gdpr={"ledger": str(tmp_path / "nope.csv"), "places": PLACES})
    assert outcome.status == "error" and outcome.checks == []
    assert outcome.error is not None
    assert "store saas: erasure ledger" in outcome.error["message"] and "stores.gdpr.ledger" in outcome.error["message"]


def test_a_gdpr_place_missing_from_the_backup_fails_its_checks_not_the_run(live_backup: LiveBackup,
                                                                          tmp_path: Path) -> None:
    erasures = ledger(tmp_path / "ledger.csv", [("bob@example.com", live_backup.captured_at)])
    outcome = verify(live_backup.directory, "saas-*.dump",
                     gdpr={"ledger": erasures, "places": [{"table": "public.customers", "column": "email"}]})
    problems = failed(outcome)
    assert outcome.status == "failed" and outcome.error is None
    assert set(problems) == {"gdpr:erased before backup", "gdpr:erased after backup"}
    assert "gdpr place public.customers.email cannot be read" in problems["gdpr:erased before backup"]
    assert "stores.gdpr.places" in problems["gdpr:erased after backup"]


def test_the_ledger_can_be_a_table_in_the_live_source(live_backup: LiveBackup, monkeypatch: pytest.MonkeyPatch) -> None:
    from verifiers.compliance.gdpr import read_ledger
    from verifiers.compliance.settings import GdprSettings
    from verifiers.errors import InventoryError, SourceError

    with psycopg.connect(live_backup.live_conninfo) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS erasures (who int, erased timestamptz)")
        conn.execute("TRUNCATE erasures")
        conn.execute("INSERT INTO erasures VALUES (7, '2026-11-01 10:00+00'), (8, now())")
    settings = GdprSettings.model_validate({"ledger_table": {"dsn_env": "RP_LEDGER_DSN", "table": "public.erasures",
                                                             "subject_column": "who", "erased_at_column": "erased"},
                                            "places": PLACES})
    with pytest.raises(InventoryError, match="RP_LEDGER_DSN"):
        read_ledger(settings, base_dir=live_backup.directory, store="saas")
    monkeypatch.setenv("RP_LEDGER_DSN", live_backup.live_conninfo)
    entries = read_ledger(settings, base_dir=live_backup.directory, store="saas")
    assert sorted(e.subject for e in entries) == ["7", "8"]
    assert min(e.erased_at for e in entries).isoformat() == "2026-11-01T10:00:00+00:00"
    wrong = settings.model_copy(update={"ledger_table": settings.ledger_table.model_copy(  # type: ignore[union-attr]
        update={"table": "public.no_such_table"})})
    with pytest.raises(SourceError, match=r"cannot read the erasure ledger table public\.no_such_table"):
        read_ledger(wrong, base_dir=live_backup.directory, store="saas")
