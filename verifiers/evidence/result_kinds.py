"""What one store's result in evidence.json is evidence of: a restore test, hygiene only, or a drill (every store
of a run whose `run.drill` is set).

Only a result whose backup was restored is a restore test: the backup SOP's KPIs (monthly completion, success
rate) count those alone, and a restore writes a `restore` check. A hygiene-only result (suite `hygiene`: RPO
gaps, encryption, retention read from the backup services' APIs) restores nothing; nor does a store that stopped
before its restore (no backup found, a fetch that failed) or a bucket kind (s3, gcs, azure-blob), whose objects
are compared with their manifest and which writes no `restore` check: each is counted apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

ResultKind = Literal["restore", "hygiene", "not restored", "drill"]
HYGIENE_SUITE = "hygiene"  # verifiers/compliance/suite.py's SUITE (not imported: that module imports pytest)


def restored(store: Mapping[str, Any]) -> bool:
    """The store's backup was restored, or its restore tried and judged: the result has a `restore` check."""
    return any(c.get("check") == "restore" for c in store.get("checks") or [])


def run_restored(evidence: Mapping[str, Any]) -> bool:
    """Some store of the run was restored, and the run was not a drill."""
    run = evidence.get("run") or {}
    return not is_drill(run) and any(restored(s) for s in evidence.get("stores") or [])


def is_drill(run: Mapping[str, Any]) -> bool:
    """The run was a drill (`restoreproof drill`, docs/drills.md): a rehearsal of a service's recovery, counted
    apart from the scheduled restore tests. Its evidence says so in `run.drill`."""
    return isinstance(run.get("drill"), Mapping)


def result_kind(run: Mapping[str, Any], store: Mapping[str, Any]) -> ResultKind:
    if is_drill(run):
        return "drill"
    if restored(store):
        return "restore"
    return "hygiene" if store.get("suite") == HYGIENE_SUITE else "not restored"
