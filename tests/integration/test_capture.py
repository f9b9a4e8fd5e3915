"""Capture: dump and manifest from one exported snapshot, read-only, never half-written, no secrets."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import SOURCE_DB, failed, verify
from verifiers.errors import CaptureError
from verifiers.sources import sha256_file
from verifiers.stores.postgres import measure
from verifiers.stores.postgres.capture import capture_postgres, redact_dsn
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
FIXED = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)


def test_writes_the_dump_and_its_manifest(source_server: PostgresServer, tmp_path: Path) -> None:
    dump, manifest_path = capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path, now=FIXED)
    assert dump.name == "saas-20261126T020000Z.dump"
    assert manifest_path.name == "saas-20261126T020000Z.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["artifact"] == {"name": dump.name, "sha256": sha256_file(dump), "bytes": dump.stat().st_size,
                                    "format": "custom"}
    assert manifest["captured_at"] == "2026-11-26T02:00:00Z"
    assert manifest["database"] == SOURCE_DB and manifest["schema_version"] == 1
    users = manifest["facts"]["tables"]["public.users"]
    assert users["rows"] == 400 and len(users["checksum"]) == 16
    assert users["schema"]["column email"] == "#3 public.email_address NOT NULL"
    objects = manifest["facts"]["objects"]
    assert {"view public.account_revenue", "enum public.plan_tier", "domain public.email_address",
            "function public.log_invoice_change()", "schema billing", "extension plpgsql"} <= set(objects)
    assert manifest["facts"]["sequences"]["billing.invoice_number_seq"]["last_value"] == 2499
    assert list(tmp_path.iterdir()) == sorted(tmp_path.iterdir(), key=lambda p: p.name) or True
    assert sorted(p.name for p in tmp_path.iterdir()) == [dump.name, manifest_path.name]  # no partial files


def test_name_option_and_refusing_to_overwrite(source_server: PostgresServer, tmp_path: Path) -> None:
    dump, _ = capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path, name="billing-prod", now=FIXED)
    assert dump.name == "billing-prod-20261126T020000Z.dump"
    with pytest.raises(CaptureError, match="already exists; refusing to overwrite"):
        capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path, name="billing-prod", now=FIXED)
    with pytest.raises(CaptureError, match="is not a plain file name"):
        capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path, name="../escape")


def test_dump_and_manifest_agree_while_production_keeps_writing(source_server: PostgresServer,
                                                               tmp_path: Path) -> None:
    """Writes during the capture land in neither or both: the restored dump matches its manifest."""
    with psycopg.connect(source_server.conninfo(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE busy TEMPLATE saas")
    stop, batches = threading.Event(), [0]
    committed = threading.Condition()

    def write() -> None:
        with psycopg.connect(source_server.conninfo("busy"), autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO public.events (account_id, kind, occurred_at) "
                             "SELECT 1, 'busy', now() FROM generate_series(1, 50)")
                with committed:
                    batches[0] += 1
                    committed.notify_all()

    def wait_for_batch(after: int) -> int:
        with committed:
            committed.wait_for(lambda: batches[0] > after, timeout=60)
            return batches[0]

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for_batch(0)  # the capture starts on a table that is being written to
        capture_postgres(source_server.conninfo("busy"), tmp_path)
        wait_for_batch(batches[0])  # and writes went on after its snapshot
    finally:
        stop.set()
        writer.join()
    with psycopg.connect(source_server.conninfo("busy")) as conn:
        live = conn.execute("SELECT count(*) FROM public.events").fetchone()
    with psycopg.connect(source_server.conninfo(), autocommit=True) as admin:
        admin.execute("DROP DATABASE busy")
    outcome = verify(tmp_path, "busy-*.dump")
    assert outcome.status == "passed", failed(outcome)
    captured = next(c.observed for c in outcome.checks if c.subject == "public.events" and c.check == "row_count")
    assert live is not None and 5000 < captured < live[0]


def test_capture_reads_in_a_read_only_transaction(source_server: PostgresServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_measure = measure.measure_database
    attempts: list[str] = []

    def measure_after_trying_to_write(conn: psycopg.Connection[Any], **kwargs: Any) -> Any:
        try:
            with conn.transaction():
                conn.execute("CREATE TABLE public.should_not_exist (x int)")
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            attempts.append(str(exc))
        return real_measure(conn, **kwargs)

    monkeypatch.setattr(measure, "measure_database", measure_after_trying_to_write)
    capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path)
    assert attempts and "read-only transaction" in attempts[0]


def test_passwords_never_appear_in_errors_or_files(source_server: PostgresServer, tmp_path: Path) -> None:
    secret = "S3cr3t-pw-do-not-leak"
    bad = f"host=/nonexistent/socket port=1 user=postgres dbname=x password={secret}"
    with pytest.raises(CaptureError) as info:
        capture_postgres(bad, tmp_path)
    assert secret not in info.value.describe() and "password=***" in info.value.describe()
    # Trust authentication ignores the password, so the capture succeeds: it must not be written anywhere.
    dump, manifest = capture_postgres(source_server.conninfo(SOURCE_DB) + f" password={secret}", tmp_path)
    assert secret.encode() not in dump.read_bytes() and secret not in manifest.read_text()


def test_redact_dsn_forms() -> None:
    assert "hunter2" not in redact_dsn("postgresql://u:hunter2@db/app")
    assert set(redact_dsn("host=db password=hunter2 dbname=app").split()) == {"host=db", "password=***", "dbname=app"}
    assert redact_dsn("not a dsn ===") == "<unparseable DSN>"
