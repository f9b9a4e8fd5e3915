"""Synthetic runs for the evidence tests: real run directories sealed by the real code, with records shaped
as the plugin writes them, made without restoring anything (the integration tests make real ones)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifiers.drill import DrillPlan, drill_record
from verifiers.evidence import EVIDENCE_SCHEMA_VERSION, SCHEMA_PATH, RunInfo, finalise_run
from verifiers.services import Service


def store_record(name: str = "saas", status: str = "passed", rto: float | None = 12.5,
                 rto_target: float = 900.0, steps: dict[str, float] | None = None) -> dict[str, Any]:
    """A store's evidence record as StoreOutcome.as_evidence() writes it; without `steps`, as it was written before
    restores were timed by step (no `rto.steps`)."""
    passed = status == "passed"
    checks = [
        {"check": "row_count", "subject": "public.users", "passed": True, "observed": 400, "expected": 400,
         "message": "400 rows"},
        {"check": "checksum", "subject": "public.users", "passed": passed, "observed": "00ff00ff00ff00ff",
         "expected": "00ff00ff00ff00ff" if passed else "11ee11ee11ee11ee",
         "message": "checksum matches" if passed else "checksum differs"},
    ]
    return {
        "name": name, "kind": "postgres", "suite": "rds", "status": status,
        "artifact": {"path": f"/backups/{name}.dump", "sha256": hashlib.sha256(name.encode()).hexdigest(),
                     "bytes": 1234, "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"},
        "sandbox": {"type": "local", "engine": "postgresql", "version": "18.1"},
        "rto": {"seconds": rto, "target_seconds": rto_target,
                "phases": {} if rto is None else {"fetch": 0.5, "provision": 2.0, "restore": rto - 3.0,
                                                   "verify": 0.5, "teardown": 0.2},
                **({} if steps is None else {"steps": steps, "steps_not_measured": {}})},
        "rpo": {"seconds": 3600.0, "target_seconds": 86400.0},
        "checks": checks if status != "error" else [],
        "error": {"phase": "restore", "message": "pg_restore failed"} if status == "error" else None,
    }


def restore_record(name: str = "saas", status: str = "passed", rto: float | None = 12.5,
                   rto_target: float = 900.0, steps: dict[str, float] | None = None) -> dict[str, Any]:
    """A store that was restored: store_record's with the `restore` check a restore writes first (failed when the
    store errored: e.g. the restore timed out)."""
    record = store_record(name, status, rto, rto_target, steps)
    ok = status != "error"
    restore = {"check": "restore", "subject": "restore", "passed": ok, "observed": "exit 0, 0 errors" if ok else
               "timed out", "expected": "exit 0, no errors",
               "message": "pg_restore exited 0 with no errors" if ok else "pg_restore did not finish within 15m00s"}
    record["checks"] = [restore, *record["checks"]]
    return record


def hygiene_record(name: str = "saas", status: str = "passed") -> dict[str, Any]:
    """A store judged by the hygiene suite only: checks read from the backup services' APIs, nothing restored."""
    passed = status == "passed"
    gap = 3600.0 if passed else 8 * 86400.0
    return {
        "name": name, "kind": "postgres", "suite": "hygiene", "status": status, "artifact": None, "sandbox": None,
        "rto": {"seconds": None, "target_seconds": 900.0, "phases": {}},
        "rpo": {"seconds": 3600.0, "target_seconds": 86400.0},
        "checks": [{"check": "rpo_gap", "subject": "rpo_gap", "passed": passed, "observed": gap, "expected": 86400.0,
                    "message": f"largest gap between recovery points over the last 30d0h: {gap:.0f}s"},
                   {"check": "rpo", "subject": "rpo", "passed": True, "observed": 3600.0, "expected": 86400.0,
                    "message": "backup age (RPO) 1h00m is within the target 24h00m"}],
        "error": None,
    }


def drill_marker(service: str = "checkout", stores: Sequence[str] = ("saas",), *, passed: bool = True,
                 started: datetime | None = None, rto: float = 3600.0) -> dict[str, Any]:
    """A drill's `run.drill` as verifiers.drill.drill_record writes it: every store verified a minute in, or (not
    `passed`) the first store failed, so the service RTO was not compared."""
    plan = DrillPlan(service=Service(name=service, stores=list(stores), rto=rto), participants=("Ada Lovelace (IC)",),
                     findings=("the runbook's step 3 is out of date",),
                     started=started or datetime(2026, 1, 1, tzinfo=UTC), started_monotonic=0.0)
    statuses = {name: "passed" if passed or i else "failed" for i, name in enumerate(stores)}
    return drill_record(plan, statuses, dict.fromkeys(stores, 60.0), elapsed_seconds=90.0, mode="sequential",
                        workers=1).as_evidence()


def make_run(root: Path, started: datetime, stores: Sequence[dict[str, Any]] = (),
             key: Ed25519PrivateKey | None = None, drill: dict[str, Any] | None = None) -> Path:
    """A run directory under ROOT/YYYY-MM/<run-id>/ with a report, a junit file and sealed evidence; with `drill`
    (drill_marker's), a drill's run, with a drill.html."""
    run = RunInfo.new(root, now=started)
    run.directory.mkdir(parents=True)
    (run.directory / "report.html").write_text(f"<!DOCTYPE html><html><body>run {run.id}</body></html>\n")
    (run.directory / "junit.xml").write_text(f'<testsuites name="{run.id}"></testsuites>\n')
    if drill is not None:
        (run.directory / "drill.html").write_text(f"<!DOCTYPE html><html><body>drill {run.id}</body></html>\n")
    statuses = {s["status"] for s in stores}
    status = next((s for s in ("error", "failed", "passed") if s in statuses), "empty")
    record = {
        "schema_version": EVIDENCE_SCHEMA_VERSION,
        "run": {"id": run.id, "started": _iso(started), "finished": _iso(started + timedelta(seconds=30)),
                "tool_version": "0.1.0", "git_commit": None, "host": "ci", "status": status,
                **({"drill": drill} if drill is not None else {})},
        "stores": list(stores),
    }
    finalise_run(run.directory, record, signing_key=key)
    return run.directory


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at(year: int, month: int, day: int = 3, hour: int = 2) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def write_key(directory: Path) -> tuple[Ed25519PrivateKey, Path, Path]:
    """A new Ed25519 key as PEM files: (key, private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = directory / "signing.pem"
    public = directory / "signing.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, private, public


def evidence_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema
