"""The live database as the reference (verifiers/stores/postgres/live.py), on real servers: a pg_dump with no
manifest, "production" a copy of the demo database on the source server that moves on after the dump. Counts
within the tolerance pass, rows of the `stable` conditions are checksummed on both sides, and drift, damage,
a missing DSN or a bad condition fail loudly, naming the store, the table and the fix."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import SOURCE_DB, Capture, failed, verify
from verifiers.runner import StoreOutcome
from verifiers.sources import sha256_file
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]

ENV = "RESTOREPROOF_TEST_LIVE_DSN"
STABLE = {"public.events": "occurred_at < {backup_time}", "public.accounts": "created_at < {backup_time}"}
TABLES = {"public.accounts", "public.users", "billing.invoices", "public.events", "public.audit_log",
          "public.feature_flags"}


@dataclass(frozen=True)
class Live:
    directory: Path  # holds the dump, and no manifest
    conninfo: str

    def run(self, *statements: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)


@pytest.fixture
def live(source_server: PostgresServer, oldest_pg: PgInstallation, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    db = f"live_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db), sql.Identifier(SOURCE_DB)))
    try:
        subprocess.run([str(oldest_pg.tool("pg_dump")), "--format=custom", f"--file={tmp_path / 'app-1.dump'}",
                        "--dbname", db], env=source_server.client_env(db), check=True, capture_output=True)
        monkeypatch.setenv(ENV, source_server.conninfo(db))
        yield Live(tmp_path, source_server.conninfo(db))
    finally:
        with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def verify_live(live: Live, **settings: object) -> StoreOutcome:
    reference = {"dsn_env": ENV, "stable": STABLE, **settings}
    return verify(live.directory, "app-*.dump", live=reference)


def test_passes_after_production_moved_on_within_the_tolerance(live: Live) -> None:
    live.run("INSERT INTO public.events (account_id, kind, occurred_at) "
             "SELECT 1, 'signup', timestamptz '2999-01-01' + g * interval '1 second' FROM generate_series(1, 40) g",
             "INSERT INTO public.accounts (name, plan, created_at) VALUES ('new', 'free', now() + interval '1 day')",
             "UPDATE public.accounts SET name = 'renamed' WHERE created_at > now()")  # a new row changes: fine
    outcome = verify_live(live)
    assert outcome.status == "passed", failed(outcome)
    checks = outcome.checks
    assert {c.subject for c in checks if c.check == "row_count"} == TABLES
    assert {c.subject for c in checks if c.check == "checksum"} == set(STABLE)  # only the stable tables
    assert not [c for c in checks if c.check == "sequence"]
    events = next(c for c in checks if c.check == "row_count" and c.subject == "public.events")
    assert events.observed == 5000 and events.expected == {"min": 4788, "max": 5292}
    artifact = next(c for c in checks if c.check == "artifact")
    assert artifact.passed and artifact.expected is None and "no manifest to compare it with" in artifact.message
    assert not artifact.compared and artifact.message.startswith("not compared: ")
    assert next(c for c in outcome.as_evidence()["checks"] if c["check"] == "artifact")["compared"] is False
    record = outcome.as_evidence()["artifact"]
    assert record["reference"] == "live database" and "manifest_sha256" not in record


def test_an_old_row_that_differs_fails_that_tables_checksum_only(live: Live) -> None:
    live.run("UPDATE public.events SET kind = 'tampered' WHERE id = (SELECT min(id) FROM public.events)")
    outcome = verify_live(live)
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"checksum:public.events"}


def test_counts_beyond_the_tolerance_fail_with_the_difference(live: Live) -> None:
    live.run("DELETE FROM billing.invoices WHERE id % 5 = 0")  # 20% fewer than in the backup
    outcome = verify_live(live)
    problems = failed(outcome)
    assert set(problems) == {"row_count:billing.invoices"}
    assert "1500 rows restored, expected 1200 ± 60 (+300)" in problems["row_count:billing.invoices"]
    assert verify_live(live, row_count_tolerance=0.25).status == "passed"


def test_schema_changed_since_the_backup_is_named(live: Live) -> None:
    live.run("ALTER TABLE public.users ADD COLUMN nickname text", "CREATE TABLE public.added (id int)")
    problems = failed(verify_live(live))
    assert "nickname" in problems["schema:public.users"]
    assert "missing: public.added" in problems["tables:tables"]
    assert problems["row_count:public.added"] == "public.added is missing after restore"


def test_a_missing_dsn_is_an_error_naming_the_store_and_the_variable(live: Live,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    outcome = verify_live(live)
    assert outcome.status == "error"
    assert outcome.error is not None
    message = outcome.error["message"]
    assert "store saas" in message and ENV in message and "no manifest" in message


def test_an_unreachable_live_database_never_shows_its_password(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "postgresql://reader:s3cret-live-pw@127.0.0.1:1/app?connect_timeout=2")
    outcome = verify_live(live)
    assert outcome.status == "error"
    assert outcome.error is not None
    message = outcome.error["message"]
    assert "cannot connect to the live database" in message and ENV in message
    assert "s3cret-live-pw" not in message


@pytest.mark.parametrize(("stable", "named"), [
    ({"public.nope": "true"}, "live.stable names public.nope, not a table of the live database"),
    ({"public.events": "occured_at < {backup_time}"}, "live.stable condition of public.events does not work there"),
])
def test_a_bad_stable_entry_fails_the_plan_naming_it(live: Live, stable: dict[str, str], named: str) -> None:
    outcome = verify(live.directory, "app-*.dump", live={"dsn_env": ENV, "stable": stable})
    assert outcome.status == "error" and outcome.error is not None and named in outcome.error["message"]


def test_a_manifest_beside_the_backup_wins(backup_dir: Path, demo_capture: Capture,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)  # the live database is never asked
    outcome = verify(backup_dir, "saas-*.dump", live={"dsn_env": ENV, "stable": STABLE})
    assert outcome.status == "passed", failed(outcome)
    assert any(c.check == "sequence" for c in outcome.checks)
    record = outcome.as_evidence()["artifact"]
    assert record["reference"] == "manifest"
    assert record["manifest_sha256"] == sha256_file(backup_dir / demo_capture.manifest.name)


def test_a_condition_the_restored_table_cannot_take_fails_that_checksum_not_the_store(live: Live) -> None:
    live.run("ALTER TABLE public.events ADD COLUMN archived boolean")  # a migration after the backup
    stable = {**STABLE, "public.events": "archived IS NOT TRUE AND occurred_at < {backup_time}"}
    outcome = verify(live.directory, "app-*.dump", live={"dsn_env": ENV, "stable": stable})
    assert outcome.status == "failed", outcome.error
    problems = failed(outcome)
    assert set(problems) == {"checksum:public.events", "schema:public.events"}
    assert "its live.stable condition does not work on the restored table" in problems["checksum:public.events"]
    assert "archived" in problems["schema:public.events"]
