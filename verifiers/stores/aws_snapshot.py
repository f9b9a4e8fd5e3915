"""The store side of an RDS / Aurora snapshot, shared by every kind that restores one (postgres, mysql): the
engine check, the plan around a kind's data checks, and the verify flow — AWS restores the snapshot into a
temporary instance, the kind measures it and judges the facts against the manifest captured when the
snapshot was taken, and the instance is deleted on every exit path.

Phases: provision = the restore request (AWS accepting it), restore = waiting until the instance is
available, verify = measuring it, teardown = the delete request.

The reference is the configured manifest, paired with the snapshot by its id or capture time
(sources/snapshot_manifests.py: no match fails the `manifest` check before anything is restored), or the live
database for a kind that has one. A point-in-time restore (`restore_to`, sources/rds_point_in_time.py) is
restored by sandboxes/aws_rds_pitr.py and always compared with the live database, its lag judged as `pitr_lag`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance.recovery_points import judge_pitr
from verifiers.errors import ManifestError, SourceError
from verifiers.sandboxes import SandboxInfo, timed_sandbox
from verifiers.sandboxes.aws_login import Login, credentials_mode, log_in
from verifiers.sandboxes.aws_network import NetworkReport, NetworkSettings, Placement, check_rules, probe_tcp
from verifiers.sandboxes.aws_rds import Availability, RdsSandbox, RdsSandboxSettings, restored_snapshot
from verifiers.sandboxes.aws_rds_adopted import adopted_instance
from verifiers.sandboxes.aws_rds_pitr import restored_point_in_time
from verifiers.sources import Artifact, Located
from verifiers.sources.aws_backup import RecoveryPoint, rds_source_of
from verifiers.sources.manifest_pairing import Pairing
from verifiers.sources.rds_point_in_time import POINT_IN_TIME
from verifiers.sources.rds_snapshot import Snapshot
from verifiers.store_settings import AnyStore, AwsBackupSource, RdsSnapshotSource
from verifiers.stores import registry
from verifiers.stores.base import LIVE_REFERENCE, KindPlan, StorePlan, StoreVerification, not_restored
from verifiers.stores.manifest_pairing import manifest_check, pairing_of
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RESTORE_STEPS, RestoreTimer

log = logging.getLogger(__name__)

# RDS restores blocks from S3 lazily, as they are first read: the instance is available (the restore phase) before
# its data is, which first_query and warm (the verify phase's steps) tell apart.
SNAPSHOT_NOT_SPLIT = ("AWS restores a snapshot in one operation, timed until the instance is available: its schema, "
                      "rows and indexes are not restored apart")
CONNECT_HINT = ("the harness must reach the instance's VPC (run it there, or set stores.source.endpoint_override "
                "to a tunnel)")

Measure = Callable[[RdsSandbox, Login], list[CheckResult]]
ManifestT = TypeVar("ManifestT")


def snapshot_of(located: Located) -> Snapshot:
    return Snapshot.from_details(located.details)


def snapshot_source(store: AnyStore, located: Located) -> RdsSnapshotSource:
    """The store's rds-snapshot source, or the one its aws-backup recovery point amounts to (an RDS / Aurora
    recovery point is a DB snapshot: verifiers/sources/aws_backup.py)."""
    if isinstance(store.source, RdsSnapshotSource):
        return store.source
    assert isinstance(store.source, AwsBackupSource)  # the kinds that call this take no other service source
    point = RecoveryPoint.from_details(located.details)
    if point.resource_type not in ("RDS", "Aurora"):
        raise SourceError(f"store {store.name}: recovery point {point.recovery_point_arn} is of {point.resource_type} "
                          f"{point.resource_arn}; a {store.kind} store restores RDS and Aurora recovery points only",
                          hint=f"point stores.source at the {store.kind} database's RDS instance or Aurora cluster")
    return rds_source_of(store.source, point, store=store.name)


def check_engine(store: AnyStore, snapshot: Snapshot) -> None:
    """A snapshot of another engine cannot be measured by this kind: say which kind would, before AWS is asked
    to restore anything."""
    if snapshot.engine in store.RDS_ENGINES:
        return
    other = next((kind for kind, model in registry.models().items() if snapshot.engine in model.RDS_ENGINES), None)
    fix = (f"set kind = \"{other}\" for this store (with a manifest from `restoreproof capture {other}`)"
           if other else "no store kind restores this engine yet; remove the store or verify dumps instead")
    raise SourceError(
        f"store {store.name}: RDS snapshot {snapshot.arn or snapshot.id} is a {snapshot.engine or 'unknown'} "
        f"{snapshot.engine_version} snapshot; a {store.kind} store restores {', '.join(store.RDS_ENGINES)} "
        "snapshots only",
        hint=f"{fix}, or point stores.source.{'cluster' if snapshot.cluster else 'instance'} at a "
        f"{store.kind} {'cluster' if snapshot.cluster else 'instance'}")


def plan_snapshot(store: AnyStore, located: Located, *, load: Callable[[Path], ManifestT],
                  data_specs: Callable[[ManifestT], list[CheckSpec]], kind_plan: Callable[[ManifestT], KindPlan],
                  live: Callable[[datetime], ManifestT] | None = None) -> StorePlan:
    """The plan of a snapshot store: the snapshot, its restore, the kind's data checks from the manifest
    (`load` reads it, `data_specs` lists them, `kind_plan` makes the kind's plan of it), the assertions, RTO and
    RPO. Without a manifest, `live` (when the store compares with its live database) gives the reference, as of
    the snapshot's creation."""
    snapshot = snapshot_of(located)
    check_engine(store, snapshot)
    pairing = pairing_of(located)
    if pairing is not None and not pairing.paired:
        return unpaired_plan(store, located, snapshot, pairing)
    if is_point_in_time(located):
        return point_in_time_plan(store, located, data_specs=data_specs, kind_plan=kind_plan, live=live)
    if located.manifest_path is None and live is not None:
        manifest = live(snapshot.created_at)
    elif located.manifest_path is None:
        raise ManifestError(
            f"store {store.name}: an rds-snapshot source needs a manifest to compare {located.location} with",
            hint=f"capture one when the snapshot is taken (`restoreproof capture {store.kind} --dsn …` against the "
            "instance) and set stores.source.manifest to its path or s3:// URL, or set `live` to compare with the "
            "live database",
        )
    else:
        manifest = load(located.manifest_path)
    specs = [CheckSpec("artifact", snapshot.id), *([CheckSpec("manifest", snapshot.id)] if pairing else []),
             CheckSpec("restore", "restore"), *data_specs(manifest)]
    specs += [CheckSpec("assertion", a.name) for a in store.assertions]
    specs += [CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
    # RPO is the snapshot's age: that is the moment production data can be recovered to.
    return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=snapshot.created_at,
                     kind_plan=kind_plan(manifest), reference="manifest" if located.manifest_path else LIVE_REFERENCE)


def verify_snapshot(plan: StorePlan, source: RdsSnapshotSource, artifact: Artifact, timer: RestoreTimer,
                    result: StoreVerification, *, measure: Measure) -> list[CheckResult]:
    """Restore, wait, `measure` (which returns the judged checks), delete. Checks judged before a failure stay
    in `result`; the judged data checks are returned once the instance is deleted."""
    store = plan.store
    snapshot = snapshot_of(plan.located)
    result.checks.append(snapshot_check(snapshot, artifact))
    pairing = pairing_of(plan.located)
    if pairing is not None:
        result.checks.append(manifest_check(pairing))
    if is_point_in_time(plan.located):
        result.checks.append(pitr_lag_check(plan))
    timeout = source.restore_timeout if source.restore_timeout is not None else store.restore_timeout
    network = network_settings(store.name, source, snapshot)
    mode = credentials_mode(source.credentials, endpoint_override=source.endpoint_override is not None)
    adopted = plan.located.details.get("adopted_arn", "")
    if adopted:  # restore testing: AWS Backup placed the instance by its plan; the TCP probe judges the path
        report, placement = NetworkReport(ADOPTED_RULES), None
        opening = adopted_sandbox(plan, source, snapshot, timer)
    else:
        with timer.phase("provision"):  # seconds, before AWS is asked to restore anything
            report, placement = reachable_by_rules(network, source, snapshot)
        opening = rds_sandbox(store.name, source, snapshot, timer)
    with opening as sandbox:
        result.sandbox = with_access(sandbox.info, report, mode)
        with timer.phase("restore"):
            for step in RESTORE_STEPS:
                timer.not_measured(step, SNAPSHOT_NOT_SPLIT)
            ready = sandbox.wait_available(timeout)
            if ready.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                raise restore_timed_out(result, availability_check(ready), store=store.name,
                                        artifact_name=f"snapshot {snapshot.id}", tool="RDS", seconds=timeout,
                                        check_what="the restored instance's events in the RDS console")
        if adopted:  # AWS Backup restored it before this run: its restore job's duration is the restore phase's
            timer.seconds["restore"] += float(plan.located.details.get("adopted_restore_seconds", 0.0))
        result.checks.append(availability_check(ready))
        if not ready.ok:
            return not_restored(plan, result, "the snapshot was not restored")
        with timer.phase("restore"):  # making the instance usable is part of the recovery
            report = dataclasses.replace(report, probe=probe_endpoint(sandbox, source, network, placement))
            result.sandbox = with_access(sandbox.info, report, mode)
            login = log_in(sandbox, mode, iam_user=source.iam_user, timeout=timeout)
        with timer.phase("verify"):
            judged = measure(sandbox, login)
    result.sandbox = with_access(sandbox.info, report, mode)  # with the ARNs of all it created, now deleted
    return judged


ADOPTED_RULES = ("not made: AWS Backup's restore testing created the instance in its plan's subnets and security "
                 "groups, not the source's")


def network_settings(store: str, source: RdsSnapshotSource, snapshot: Snapshot) -> NetworkSettings:
    return NetworkSettings(store=store, port=snapshot.port, subnet_group=source.subnet_group,
                           security_groups=tuple(source.security_groups),
                           runner_security_group=source.runner_security_group, runner_cidr=source.runner_cidr,
                           mode=source.reachability)


def reachable_by_rules(network: NetworkSettings, source: RdsSnapshotSource,
                       snapshot: Snapshot) -> tuple[NetworkReport, Placement | None]:
    from verifiers.aws import ec2_client, rds_client

    region, endpoint = snapshot.region or None, snapshot.endpoint_url or None
    return check_rules(rds_client(region, endpoint), ec2_client(region, endpoint), network,
                       endpoint_override=source.endpoint_override is not None)


def probe_endpoint(sandbox: RdsSandbox, source: RdsSnapshotSource, network: NetworkSettings,
                   placement: Placement | None) -> str:
    if source.endpoint_override:
        return "not made: the harness connects through endpoint_override (its first connection is the probe)"
    host, port = sandbox.endpoint()
    return probe_tcp(host, port, network, placement)


def with_access(info: SandboxInfo, report: NetworkReport, mode: str) -> SandboxInfo:
    """The sandbox record plus how it was reached and logged in to (never a secret)."""
    return dataclasses.replace(info, details={**info.details, **report.details(), "credentials": mode})


@contextlib.contextmanager
def rds_sandbox(store: str, source: RdsSnapshotSource, snapshot: Snapshot, timer: RestoreTimer) -> Iterator[RdsSandbox]:
    """The restore request timed as provision, the deletion as teardown (deletion errors never hide the
    error that ended the run)."""
    from verifiers.aws import rds_client

    client = rds_client(snapshot.region or None, snapshot.endpoint_url or None)
    settings = RdsSandboxSettings(store=store, instance_class=source.instance_class,
                                  subnet_group=source.subnet_group, security_groups=tuple(source.security_groups))
    restoring = (restored_point_in_time(client, snapshot, settings, snapshot.created_at)
                 if snapshot.snapshot_type == POINT_IN_TIME else restored_snapshot(client, snapshot, settings))
    with timed_sandbox(restoring, timer, store=store,
                       what="deleting the RDS sandbox", close_failed_start=True) as sandbox:
        yield sandbox


@contextlib.contextmanager
def adopted_sandbox(plan: StorePlan, source: RdsSnapshotSource, snapshot: Snapshot,
                    timer: RestoreTimer) -> Iterator[RdsSandbox]:
    """Restore testing: the instance AWS Backup restored, verified in place and left to AWS Backup to delete."""
    from verifiers.aws import rds_client

    client = rds_client(snapshot.region or None, snapshot.endpoint_url or None)
    settings = RdsSandboxSettings(store=plan.store.name, instance_class=source.instance_class,
                                  subnet_group=source.subnet_group, security_groups=tuple(source.security_groups))
    details = plan.located.details
    with timed_sandbox(adopted_instance(client, snapshot, settings, resource_arn=details["adopted_arn"],
                                        restore_job_id=details.get("restore_job_id", "")),
                       timer, store=plan.store.name) as sandbox:
        yield sandbox


def snapshot_check(snapshot: Snapshot, artifact: Artifact) -> CheckResult:
    encryption = f"encrypted with KMS key {snapshot.kms_key_id}" if snapshot.encrypted else "not encrypted"
    if snapshot.snapshot_type == POINT_IN_TIME:
        return CheckResult(
            "artifact", snapshot.id, True, "restorable", "restorable",
            f"{'cluster' if snapshot.cluster else 'instance'} {snapshot.source_id} ({snapshot.arn or '-'})"
            f" at {snapshot.created}, within its restore window; {snapshot.engine} {snapshot.engine_version}, "
            f"{encryption}")
    return CheckResult(
        "artifact", snapshot.id, True, "available", "available",
        f"{snapshot.snapshot_type} snapshot {artifact.location} of {'cluster' if snapshot.cluster else 'instance'} "
        f"{snapshot.source_id}, taken {snapshot.created}, {snapshot.engine} {snapshot.engine_version}, {encryption}")


def availability_check(ready: Availability) -> CheckResult:
    observed = "timed out" if ready.timed_out else ready.status
    return CheckResult("restore", "restore", ready.ok, observed, "available", ready.message)


@dataclass(frozen=True)
class UnpairedManifest(KindPlan):
    """No manifest matches the snapshot: its `manifest` check fails, and nothing is restored."""

    pairing: Pairing

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        result.checks += [snapshot_check(snapshot_of(plan.located), artifact), manifest_check(self.pairing)]
        return not_restored(plan, result, "no manifest matches the snapshot", CheckResult(
            "restore", "restore", False, "not restored", "available",
            "not restored: no manifest matches the snapshot, and its data checks would compare two moments"))


def unpaired_plan(store: AnyStore, located: Located, snapshot: Snapshot, pairing: Pairing) -> StorePlan:
    specs = (CheckSpec("artifact", snapshot.id), CheckSpec("manifest", snapshot.id), CheckSpec("restore", "restore"),
             CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo"))
    return StorePlan(store=store, located=located, specs=specs, reference_time=snapshot.created_at,
                     kind_plan=UnpairedManifest(pairing))


def is_point_in_time(located: Located) -> bool:
    return located.details.get("snapshot_type") == POINT_IN_TIME


def point_in_time_plan(store: AnyStore, located: Located, *, data_specs: Callable[[ManifestT], list[CheckSpec]],
                       kind_plan: Callable[[ManifestT], KindPlan],
                       live: Callable[[datetime], ManifestT] | None) -> StorePlan:
    """A point-in-time restore, compared with the live database as of the restore time (a manifest describes
    one capture, not an arbitrary moment). RPO is judged on the latest restorable time: the newest moment
    production can be recovered to; the chosen moment may be older on purpose (restore_to = "random")."""
    snapshot = snapshot_of(located)
    if live is None:
        raise ManifestError(
            f"store {store.name}: a point-in-time restore of {located.location} is verified against the live "
            f"database, and store {store.name} sets no `live`",
            hint="set `live` on the store (its dsn_env and stable conditions with {restore_time})")
    baseline = live(snapshot.created_at)
    specs = [CheckSpec("artifact", snapshot.id), CheckSpec("pitr_lag", snapshot.source_id),
             CheckSpec("restore", "restore"), *data_specs(baseline)]
    specs += [CheckSpec("assertion", a.name) for a in store.assertions]
    specs += [CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
    latest = datetime.fromisoformat(located.details["latest_restorable"])
    return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=latest,
                     kind_plan=kind_plan(baseline), reference=LIVE_REFERENCE)


def pitr_lag_check(plan: StorePlan) -> CheckResult:
    """now - latest restorable time (both as read together at plan time) against the store's RPO target."""
    details = plan.located.details
    origin = f"{'cluster' if details['cluster'] == 'true' else 'instance'} {details['source_id']}"
    judged = judge_pitr(datetime.fromisoformat(details["latest_restorable"]), rpo=plan.store.rpo,
                        now=datetime.fromisoformat(details["window_read_at"]),
                        what=f"{origin}, restored to {details['restore_time']} (restore window "
                        f"{details['earliest_restorable']} .. {details['latest_restorable']})")
    return replace(judged, subject=details["source_id"])
