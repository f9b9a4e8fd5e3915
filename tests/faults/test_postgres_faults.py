"""Fault injection on the PostgreSQL path: each fault yields a failed or errored store with a message naming
the artifact and the cause — never a traceback, never a pass — and leaves no process or directory behind."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Capture, failed, verify
from verifiers.errors import InventoryError
from verifiers.inventory import load_inventory

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]


def kill_sandbox_when_running(text: str, done: threading.Event) -> None:
    """Find the sandbox server running a query containing `text` and SIGKILL its postmaster."""
    deadline = time.monotonic() + 120
    while not done.is_set() and time.monotonic() < deadline:
        for pidfile in Path(tempfile.gettempdir()).glob("restoreproof-pg-*/data/postmaster.pid"):
            socket_dir = pidfile.parent.parent / "run"
            sockets = list(socket_dir.glob(".s.PGSQL.*[0-9]"))
            if not sockets:
                continue
            try:
                with psycopg.connect(host=str(socket_dir), port=sockets[0].suffix.lstrip("."), user="postgres",
                                     dbname="postgres", connect_timeout=2) as conn:
                    busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s "
                                        "AND state = 'active'", (f"%{text}%",)).fetchone()
            except psycopg.OperationalError:
                continue
            if busy and busy[0]:
                os.kill(int(pidfile.read_text().splitlines()[0]), signal.SIGKILL)
                return
        time.sleep(0.05)


def test_sandbox_killed_mid_verify_is_an_error_in_verify(backup_dir: Path) -> None:
    done = threading.Event()
    killer = threading.Thread(target=kill_sandbox_when_running, args=("pg_sleep(61)", done))
    killer.start()
    try:
        outcome = verify(backup_dir, "saas-*.dump", assertions=[
            {"name": "slow", "sql": "SELECT 1 FROM pg_sleep(61)", "expect": 1}])
    finally:
        done.set()
        killer.join()
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["phase"] == "verify"
    assert outcome.error["message"].startswith("store saas: lost the sandbox server while verifying")
    assert "teardown" in outcome.timer.seconds  # torn down all the same


@pytest.mark.parametrize(("version", "message"), [
    (99, "has schema_version 99; this restoreproof reads 1 — upgrade restoreproof"),
    (None, "has schema_version None"),
])
def test_manifest_of_an_unknown_schema_version(backup_dir: Path, demo_capture: Capture, version: int | None,
                                               message: str) -> None:
    manifest = backup_dir / demo_capture.manifest.name
    data = json.loads(manifest.read_text())
    data["schema_version"] = version
    manifest.write_text(json.dumps(data))
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "error" and outcome.error is not None
    assert f"manifest {manifest} " in outcome.error["message"] and message in outcome.error["message"]


def test_manifest_that_is_not_json(backup_dir: Path, demo_capture: Capture) -> None:
    (backup_dir / demo_capture.manifest.name).write_text("{not json")
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.error is not None and "is not readable JSON" in outcome.error["message"]


def test_empty_backup_file(backup_dir: Path, demo_capture: Capture) -> None:
    (backup_dir / demo_capture.dump.name).write_bytes(b"")
    message = failed(verify(backup_dir, "saas-*.dump"))["restore:restore"]
    assert "the file is empty" in message and demo_capture.dump.name in message


VALID = """[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
[stores.source]
type = "file"
path = "b/*.dump"
"""


@st.composite
def damaged_inventories(draw: st.DrawFn) -> str:
    """The valid inventory with a slice cut out and/or junk put in: mostly near-misses, like real typos."""
    start = draw(st.integers(0, len(VALID)))
    end = draw(st.integers(start, min(len(VALID), start + 12)))
    junk = draw(st.text(max_size=8))
    return VALID[:start] + junk + VALID[end:]


@settings(max_examples=80, deadline=None)
@given(st.one_of(damaged_inventories(), st.text(max_size=120)))
def test_any_damaged_inventory_is_a_clear_error_or_still_valid(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.toml"
        path.write_text(text, encoding="utf-8")
        try:
            inventory = load_inventory(path)
        except InventoryError as exc:  # never any other exception: no traceback reaches the user
            assert exc.describe().startswith(f"{path}: ")  # noqa: PT017
        else:
            assert [s.name for s in inventory.stores]  # only a damage that kept it valid gets here
