"""The store side of a Cloud SQL backup, shared by the kinds that restore one (postgres, mysql): the engine check,
the plan around a kind's data checks, and the verify flow — Cloud SQL restores the backup run into a temporary
labelled instance, the kind measures it and judges the facts against the manifest captured when the backup was
taken, and the instance is deleted on every exit path (verifiers/sandboxes/cloudsql.py).

Phases: provision = creating the temporary instance (until it is RUNNABLE), restore = the restore operation,
verify = the harness's own password on the built-in user, then measuring, teardown = the deletion, waited for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from verifiers.checks import CheckResult, CheckSpec
from verifiers.cloudsql import CloudSqlApiError, sqladmin_client
from verifiers.errors import ManifestError, SandboxError, SourceError
from verifiers.inventory_cloud import CloudSqlBackupSource
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.cloudsql import CloudSqlSandbox, CloudSqlSandboxSettings, Login, Restored, temporary_instance
from verifiers.sources import Artifact, Located
from verifiers.sources.cloudsql_backup import BackupRun
from verifiers.sources.manifest_pairing import Pairing
from verifiers.store_settings import AnyStore
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, not_restored
from verifiers.stores.manifest_pairing import manifest_check, pairing_of
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RESTORE_STEPS, RestoreTimer

NOT_SPLIT = ("Cloud SQL restores a backup in one operation, timed until it is done: its schema, rows and indexes "
             "are not restored apart")
CONNECT_HINT = ("the harness must reach the temporary instance: run it in stores.source.network's VPC (private IP), "
                "or list its public egress in stores.source.authorized_networks, or set "
                "stores.source.endpoint_override to a tunnel")
RUN_ID_ENV = ("GITHUB_RUN_ID", "CI_PIPELINE_ID")  # the CI run that created an instance, for its label

Measure = Callable[[CloudSqlSandbox, Login], list[CheckResult]]
ManifestT = TypeVar("ManifestT")


def backup_of(located: Located) -> BackupRun:
    return BackupRun.from_details(located.details)


def check_engine(store: AnyStore, backup: BackupRun, engine: str) -> None:
    """A backup of another engine cannot be measured by this kind: say so before anything is created."""
    if backup.engine == engine:
        return
    other = backup.engine if backup.engine in ("postgres", "mysql") else None  # the kinds that restore one
    raise SourceError(
        f"store {store.name}: Cloud SQL instance {backup.project}:{backup.instance} is {backup.database_version}; "
        f"a {store.kind} store restores {engine.upper()}_* backups only",
        hint=f"set kind = \"{other}\" for this store" if other else "no store kind restores this engine yet")


def plan_backup(store: AnyStore, located: Located, *, engine: str, load: Callable[[Path], ManifestT],
                data_specs: Callable[[ManifestT], list[CheckSpec]],
                kind_plan: Callable[[ManifestT], KindPlan]) -> StorePlan:
    """The plan of a Cloud SQL backup store: the backup run, its restore, the kind's data checks from the
    manifest (`load` reads it, `data_specs` lists them), the assertions, RTO and RPO."""
    backup = backup_of(located)
    check_engine(store, backup, engine)
    pairing = pairing_of(located)
    if pairing is not None and not pairing.paired:
        unpaired = (CheckSpec("artifact", backup.id), CheckSpec("manifest", backup.id),
                    CheckSpec("restore", "restore"), CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo"))
        return StorePlan(store=store, located=located, specs=unpaired, reference_time=backup.created_at,
                         kind_plan=UnpairedManifest(pairing))
    if located.manifest_path is None:
        raise ManifestError(
            f"store {store.name}: a cloudsql-backup source needs a manifest to compare {located.location} with",
            hint=f"capture one when the backup is taken (`restoreproof capture {store.kind} --dsn …` against the "
            "instance) and set stores.source.manifest to its path")
    manifest = load(located.manifest_path)
    specs = [CheckSpec("artifact", backup.id), *([CheckSpec("manifest", backup.id)] if pairing else []),
             CheckSpec("restore", "restore"), *data_specs(manifest)]
    specs += [CheckSpec("assertion", a.name) for a in store.assertions]
    specs += [CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
    # RPO is the backup's age: the moment production data can be recovered to.
    return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=backup.created_at,
                     kind_plan=kind_plan(manifest))


def verify_backup(plan: StorePlan, source: CloudSqlBackupSource, artifact: Artifact, timer: RestoreTimer,
                  result: StoreVerification, *, measure: Measure) -> list[CheckResult]:
    """Create, restore, log in, `measure` (which returns the judged checks), delete. Checks judged before a
    failure stay in `result`; the judged data checks are returned once the instance is deleted."""
    store = plan.store
    backup = backup_of(plan.located)
    result.checks.append(backup_check(backup, artifact))
    pairing = pairing_of(plan.located)
    if pairing is not None:
        result.checks.append(manifest_check(pairing))
    timeout = source.restore_timeout if source.restore_timeout is not None else store.restore_timeout
    settings = CloudSqlSandboxSettings(
        store=store.name, run_id=next((os.environ[v] for v in RUN_ID_ENV if os.environ.get(v)), "local"),
        tier=source.tier, region=source.region, network=source.network,
        authorized_networks=tuple(source.authorized_networks), timeout=timeout)
    try:
        client = sqladmin_client()
    except CloudSqlApiError as exc:
        raise SandboxError(f"store {store.name}: {exc.message}", hint=exc.hint) from None
    with timed_sandbox(temporary_instance(client, backup, settings), timer, store=store.name,
                       what="deleting the temporary Cloud SQL instance", close_failed_start=True) as sandbox:
        result.sandbox = sandbox.info
        with timer.phase("restore"):
            for step in RESTORE_STEPS:
                timer.not_measured(step, NOT_SPLIT)
            restored = sandbox.restore(timeout)
            if restored.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                raise restore_timed_out(result, restore_check(restored), store=store.name,
                                        artifact_name=f"backup run {backup.id}", tool="Cloud SQL", seconds=timeout,
                                        check_what="the operation in the Cloud SQL console")
        result.checks.append(restore_check(restored))
        if not restored.ok:
            return not_restored(plan, result, "the backup was not restored")
        with timer.phase("verify"):
            judged = measure(sandbox, sandbox.login())
        result.sandbox = sandbox.info
    result.sandbox = sandbox.info  # with every operation, the deletion's too
    return judged


@dataclass(frozen=True)
class UnpairedManifest(KindPlan):
    """No manifest matches the backup run: its `manifest` check fails, and nothing is restored."""

    pairing: Pairing

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        result.checks += [backup_check(backup_of(plan.located), artifact), manifest_check(self.pairing)]
        return not_restored(plan, result, "no manifest matches the backup run", CheckResult(
            "restore", "restore", False, "not restored", "done",
            "not restored: no manifest matches the backup run, and its data checks would compare two moments"))


def backup_check(backup: BackupRun, artifact: Artifact) -> CheckResult:
    return CheckResult("artifact", backup.id, True, "SUCCESSFUL", "SUCCESSFUL",
                       f"{backup.backup_type.lower() or 'a'} backup run {artifact.location}, taken {backup.created}, "
                       f"{backup.database_version}")


def restore_check(restored: Restored) -> CheckResult:
    observed = "timed out" if restored.timed_out else "done" if restored.ok else "failed"
    return CheckResult("restore", "restore", restored.ok, observed, "done", restored.message)
