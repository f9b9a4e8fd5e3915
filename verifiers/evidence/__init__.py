"""Evidence of a run: where it goes (reports/YYYY-MM/<run-id>/) and what evidence.json says."""

from __future__ import annotations

import json
import platform
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers import __version__
from verifiers.atomic import write_text_atomically
from verifiers.runner import StoreOutcome

EVIDENCE_SCHEMA_VERSION = 1


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
                    project_dir: Path) -> dict[str, Any]:
    return {
        "schema_version": EVIDENCE_SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "started": _iso(run.started),
            "finished": _iso(finished),
            "tool_version": __version__,
            "git_commit": git_commit(project_dir),
            "host": platform.node(),
            "status": run_status(outcomes),
        },
        "stores": [o.as_evidence() for o in outcomes],
    }


def run_status(outcomes: Sequence[StoreOutcome]) -> str:
    statuses = {o.status for o in outcomes}
    if "error" in statuses:
        return "error"
    if "failed" in statuses:
        return "failed"
    return "passed" if statuses else "empty"


def write_evidence(run: RunInfo, outcomes: Sequence[StoreOutcome], *, project_dir: Path) -> Path:
    run.directory.mkdir(parents=True, exist_ok=True)
    record = evidence_record(run, outcomes, finished=datetime.now(UTC), project_dir=project_dir)
    path = run.directory / "evidence.json"
    write_text_atomically(path, json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")
    return path
