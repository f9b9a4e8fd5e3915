"""One store, end to end: locate -> plan -> fetch -> provision -> restore -> verify -> teardown -> outcome.

Every exit path ends in a StoreOutcome: `passed`, `failed` (a check failed) or `error` (the harness could
not finish, with the phase it died in). The sandbox is always torn down before the outcome is returned.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance.attach import extend_plan, merge_unrestored
from verifiers.diskspace import disk_full_error, os_error_message
from verifiers.errors import RestoreproofError
from verifiers.extras import needed_by
from verifiers.redaction import redact_secrets
from verifiers.sandboxes import SandboxRecord
from verifiers.sources import Artifact, sha256_file
from verifiers.sources.registry import source_for
from verifiers.store_settings import AnyStore, AwsBackupSource
from verifiers.stores.base import StorePlan, StoreVerification
from verifiers.stores.registry import store_kind
from verifiers.timing import PHASES, STEPS, RestoreTimer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanFailure:
    """A store whose checks cannot even be listed (no backup, no manifest): reported as one error."""

    store: AnyStore
    phase: str
    message: str


@dataclass
class StoreOutcome:
    store: AnyStore
    status: str  # passed | failed | error
    checks: list[CheckResult]
    timer: RestoreTimer
    artifact: Artifact | None = None
    reference_time: datetime | None = None
    sandbox: SandboxRecord | None = None
    error: dict[str, str] | None = None
    rpo_seconds: float | None = None
    planned: tuple[CheckSpec, ...] = field(default_factory=tuple)
    interrupted: bool = False
    suite: str | None = None  # the suite that judged it, when not the store's own (e.g. hygiene)
    reference: str | None = None  # what the data was compared with: "manifest" or LIVE_REFERENCE
    manifest_sha256: str | None = None
    configuration: dict[str, Any] | None = None  # the backup configuration (compliance/configuration.py), if read

    def result_for(self, spec: CheckSpec) -> CheckResult | None:
        for result in self.checks:
            if result.spec == spec:
                return result
        return None

    def as_evidence(self) -> dict[str, Any]:
        """The store's record in evidence.json (no row contents: counts, digests, names, timings)."""
        artifact = None
        if self.artifact is not None:
            artifact = {
                "path": self.artifact.location,
                "sha256": self.artifact.sha256,
                "bytes": self.artifact.bytes,
                "created": _iso(self.reference_time),
                "modified": _iso(self.artifact.modified),
            }
            artifact.update({k: v for k, v in self.artifact.details.items() if v and k not in artifact})
            if self.reference:  # a source may name its own ("s3-inventory": an S3 Inventory report)
                artifact.setdefault("reference", self.reference)
            if self.manifest_sha256:
                artifact.setdefault("manifest_sha256", self.manifest_sha256)
        phases = {p: round(self.timer.seconds[p], 3) for p in PHASES if p in self.timer.seconds}
        steps = {s: round(self.timer.steps[s], 3) for s in STEPS if s in self.timer.steps}
        unmeasured = {s: self.timer.steps_not_measured[s] for s in STEPS if s in self.timer.steps_not_measured}
        return {
            "name": self.store.name,
            "kind": self.store.kind,
            "suite": self.suite or self.store.suite_name,
            "status": self.status,
            "artifact": artifact,
            "sandbox": self.sandbox,
            "rto": {"seconds": round(self.timer.rto_seconds, 3) if phases else None,
                    "target_seconds": self.store.rto, "phases": phases,
                    # inside restore and verify (verifiers/timing.py STEPS); never summed into the RTO
                    "steps": steps, "steps_not_measured": unmeasured},
            "rpo": {"seconds": None if self.rpo_seconds is None else round(self.rpo_seconds, 3),
                    "target_seconds": self.store.rpo},
            "checks": [c.as_dict() for c in self.checks],
            "error": self.error,
            **({"configuration": self.configuration} if self.configuration is not None else {}),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def plan_store(store: AnyStore, base_dir: Path) -> StorePlan | PlanFailure:
    """Find the newest backup and read its manifest: cheap, done at collection time."""
    try:
        with needed_by(f"store {store.name} ({store.source.type} source)"):
            located = source_for(store.source).locate(store.source, base_dir=base_dir, store=store.name)
    except RestoreproofError as exc:
        return PlanFailure(store, "fetch", redact_secrets(exc.describe()))
    try:
        with needed_by(f"store {store.name} ({store.kind})"):
            plan = extend_plan(store_kind(store.kind).plan(store, located), base_dir)
    except RestoreproofError as exc:
        return PlanFailure(store, "fetch", redact_secrets(exc.describe()))
    manifest = located.manifest_path
    if plan.reference == "manifest" and manifest is not None and manifest.is_file():
        plan = replace(plan, manifest_sha256=sha256_file(manifest))  # which manifest: for the evidence
    return plan


def rto_check(timer: RestoreTimer, target: float) -> CheckResult:
    """The recovery time is judged only where restored data was verified: a run that stopped before (no manifest
    paired with the snapshot, a restore that failed) timed no recovery, so its seconds are recorded, not judged."""
    if "verify" not in timer.seconds:
        return checks.not_compared("rto", "rto", round(timer.rto_seconds, 3),
                                   "nothing was restored and verified, so no recovery was timed")
    return checks.within_target("rto", timer.rto_seconds, target)


def run_store(plan: StorePlan | PlanFailure, *, work_root: Path | None = None) -> StoreOutcome:
    """Verify one store; never raises for a store's own problems. On Ctrl-C/SIGTERM the sandbox is torn
    down and the outcome comes back with `interrupted` set: the caller records it, then stops the run."""
    timer = RestoreTimer()
    if isinstance(plan, PlanFailure):
        return _restore_test_reported(StoreOutcome(
            store=plan.store, status="error", checks=[], timer=timer,
            error={"phase": plan.phase, "message": redact_secrets(plan.message)}))
    store = plan.store
    result = StoreVerification()
    artifact: Artifact | None = None
    error: dict[str, str] | None = None
    interrupted = False
    with tempfile.TemporaryDirectory(prefix=f"restoreproof-{store.name}-", dir=work_root) as work:
        try:
            with needed_by(f"store {store.name} ({store.kind}, {store.source.type} source)"):
                with timer.phase("fetch"):
                    artifact = source_for(store.source).fetch(plan.located, store=store.name, work_dir=Path(work))
                plan.verify(artifact, timer, Path(work), result)
        except RestoreproofError as exc:
            error = {"phase": timer.failed_phase or "verify", "message": exc.describe()}
        except OSError as exc:  # the harness's own file work (a copy, a temp file): e.g. the disk is full
            error = {"phase": timer.failed_phase or "verify", "message": os_error_message(store.name, exc)}
        except KeyboardInterrupt:
            # The sandbox is already gone (context managers unwound); record where it stopped, then the
            # caller writes the evidence and re-raises.
            error = {"phase": timer.failed_phase or timer.reached or "fetch",
                     "message": "interrupted (Ctrl-C or SIGTERM)"}
            interrupted = True
    if not interrupted:
        error = disk_full_error(store.name, work_root or Path(tempfile.gettempdir()), error, result.checks) or error
    verified_at = datetime.now(UTC)
    rpo_seconds = (verified_at - plan.reference_time).total_seconds()
    # hygiene and RPO gaps: read from APIs, not the restore (skipped when the user is stopping the run)
    found = result.checks if interrupted else merge_unrestored(plan, result.checks)
    if error is None:
        found.append(rto_check(timer, store.rto))
    found.append(checks.within_target("rpo", rpo_seconds, store.rpo))
    # a password in an endpoint URL, a token a library echoed: never into the evidence, reports or terminal
    found = [replace(c, message=redact_secrets(c.message)) for c in found]
    error = {k: redact_secrets(v) for k, v in error.items()} if error else None
    status = "error" if error else ("passed" if found and all(c.passed for c in found) else "failed")
    return _restore_test_reported(StoreOutcome(
        store=store, status=status, checks=found, timer=timer, artifact=artifact,
        reference_time=plan.reference_time,
        sandbox=result.sandbox.record() if result.sandbox else None,
        error=error, rpo_seconds=rpo_seconds, planned=plan.specs, interrupted=interrupted,
        reference=plan.reference, manifest_sha256=plan.manifest_sha256,
    ))


def _restore_test_reported(outcome: StoreOutcome) -> StoreOutcome:
    """A run for an AWS Backup restore-testing job reports the store's verdict to the job (docs/aws-backup.md);
    a verdict that could not be reported makes the store an error naming why. An interrupted run reports FAILED
    (the job would otherwise show no verdict); a second Ctrl-C while it reports leaves the verdict unsent."""
    if not isinstance(outcome.store.source, AwsBackupSource):
        return outcome
    from verifiers.sources.aws_backup import report_restore_test

    try:
        failure = report_restore_test(outcome.store.source, store=outcome.store.name, status=outcome.status,
                                      checks=outcome.checks, error=outcome.error)
    except KeyboardInterrupt:
        return replace(outcome, interrupted=True)
    if failure is None:
        return outcome
    if outcome.error:  # the error that ended the store stays first
        failure = {**outcome.error, "message": f"{outcome.error['message']}; and {failure['message']}"}
    return replace(outcome, status="error", error={k: redact_secrets(v) for k, v in failure.items()})
