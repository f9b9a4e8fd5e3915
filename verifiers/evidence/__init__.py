"""Evidence of a run: where it goes (reports/YYYY-MM/<run-id>/), what evidence.json says, and how a run is
finalised: evidence.json, then SHA256SUMS over the run's final files, then the optional signature.

The package, one job per module: chain (SHA256SUMS, the hash chain, verification), signing (Ed25519),
report_html (report.html content), index (monthly index.json + index.html, drawn by templates/index.html),
soc2 (check -> criteria), upload (archive to S3 with Object Lock), schema/evidence.schema.json (the JSON Schema
of evidence.json) and conformance (evidence.json checked against it by `evidence verify`).
"""

from __future__ import annotations

import json
import platform
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers import __version__
from verifiers.atomic import write_text_atomically
from verifiers.evidence.defaults import DEFAULT_RETENTION_DAYS, KEY_ENV

__all__ = ["DEFAULT_RETENTION_DAYS", "EVIDENCE_SCHEMA_VERSION", "KEY_ENV", "SCHEMA_PATH", "RunInfo",
           "evidence_record", "finalise_run", "run_status", "write_evidence"]

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from verifiers.run_checks import RunCheck
    from verifiers.runner import StoreOutcome

EVIDENCE_SCHEMA_VERSION = 2
SCHEMA_PATH = Path(__file__).with_name("schema") / "evidence.schema.json"


@dataclass(frozen=True)
class RunInfo:
    id: str
    started: datetime
    directory: Path

    @classmethod
    def new(cls, reports_root: Path, now: datetime | None = None) -> RunInfo:
        started = now or datetime.now(UTC)
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        return cls(id=run_id, started=started, directory=reports_root / f"{started:%Y-%m}" / run_id)


def git_commit(cwd: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def evidence_record(run: RunInfo, outcomes: Sequence[StoreOutcome], *, finished: datetime,
                    project_dir: Path, provenance: Mapping[str, str | None] | None = None,
                    drill: Mapping[str, Any] | None = None, run_checks: Sequence[RunCheck] = (),
                    coverage: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`drill`: the run was a drill (verifiers/drill.py drill_record): recorded as `run.drill`. `run_checks` (checks
    about the run as a whole, verifiers/run_checks.py) and `coverage` (the inventory against discovery) only when
    given, so runs without them read as before."""
    return {
        "schema_version": EVIDENCE_SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "started": _iso(run.started),
            "finished": _iso(finished),
            "tool_version": __version__,
            "git_commit": git_commit(project_dir),
            "host": platform.node(),
            "status": run_status(outcomes, run_checks),
            **({"provenance": dict(provenance)} if provenance is not None else {}),
            **({"drill": dict(drill)} if drill is not None else {}),
        },
        "stores": [o.as_evidence() for o in outcomes],
        **({"run_checks": [c.as_evidence() for c in run_checks]} if run_checks else {}),
        **({"coverage": dict(coverage)} if coverage is not None else {}),
    }


def run_status(outcomes: Sequence[StoreOutcome], run_checks: Sequence[RunCheck] = ()) -> str:
    """error > failed > passed; a failed run check (an uncovered store) fails the run, even one with no store."""
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return "error"
    if "failed" in statuses or any(c.passed is False for c in run_checks):
        return "failed"
    return "passed" if statuses else "empty"


def write_evidence(run: RunInfo, outcomes: Sequence[StoreOutcome], *, project_dir: Path,
                   signing_key: Ed25519PrivateKey | None = None,
                   provenance: Mapping[str, str | None] | None = None,
                   drill: Mapping[str, Any] | None = None, run_checks: Sequence[RunCheck] = (),
                   coverage: Mapping[str, Any] | None = None) -> Path:
    """Finalise the run: every other file of the run directory must be final by now (see verifiers/plugin/)."""
    run.directory.mkdir(parents=True, exist_ok=True)
    record = evidence_record(run, outcomes, finished=datetime.now(UTC), project_dir=project_dir,
                             provenance=provenance, drill=drill, run_checks=run_checks, coverage=coverage)
    return finalise_run(run.directory, record, signing_key=signing_key)


def finalise_run(directory: Path, record: dict[str, Any], *, signing_key: Ed25519PrivateKey | None = None) -> Path:
    """Link the record to the previous run of the reports root (ROOT/YYYY-MM/<run-id>/), write evidence.json,
    seal the run with SHA256SUMS and sign it; under the root's lock, each file written atomically, SHA256SUMS
    last but the signature (a run without SHA256SUMS was interrupted, and verification says so)."""
    from verifiers.evidence import chain, signing

    root = directory.parent.parent
    with chain.chain_lock(root):
        link = chain.next_link(root, exclude=directory)
        link["signature"] = signing.signature_info(signing_key) if signing_key is not None else None
        path = directory / chain.EVIDENCE
        write_text_atomically(path, json.dumps({**record, "chain": link}, indent=2, default=str) + "\n")
        chain.seal_run(directory, str(record["run"]["id"]))
        if signing_key is not None:
            signing.sign_run(directory, signing_key)
    return path
