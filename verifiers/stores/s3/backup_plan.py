"""The plan of an s3 store whose source is an AWS Backup recovery point: restore it into a temporary bucket (or, in
restore testing, take the bucket AWS Backup restored), then compare that bucket with the manifest exactly as an
s3-bucket source's bucket is compared (verifiers/stores/s3/kind.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import backup_client, describe_error, permission_hint, s3_client
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import ManifestError, SandboxError, SourceError
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.aws_bucket import BUCKET_ACTIONS
from verifiers.sources import Artifact, Located
from verifiers.sources.aws_backup import RecoveryPoint, wait_restore_job
from verifiers.store_settings import AwsBackupSource
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, not_restored
from verifiers.stores.bucket_compare import changed_names, comparison_checks, comparison_specs
from verifiers.stores.s3.backup_restore import RestoredBucket, adopted_bucket, restored_bucket
from verifiers.stores.s3.manifest import S3Manifest, load_manifest, object_sha256
from verifiers.stores.s3.settings import S3Store
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RestoreTimer


def plan_recovery_point(store: S3Store, source: AwsBackupSource, located: Located) -> StorePlan:
    point = RecoveryPoint.from_details(located.details)
    if point.resource_type != "S3":
        raise SourceError(f"store {store.name}: recovery point {point.recovery_point_arn} is of {point.resource_type} "
                          f"{point.resource_arn}; an s3 store restores S3 recovery points only",
                          hint="point stores.source at the bucket's S3 resource")
    if located.manifest_path is None:
        raise ManifestError(f"store {store.name}: an s3 store needs a manifest to compare {located.location} with",
                            hint="capture one with `restoreproof capture s3` when the backup is taken and set "
                            "stores.source.manifest to its path or s3:// URL")
    manifest = load_manifest(located.manifest_path, store=store.name)
    specs = [CheckSpec("restore", "restore"), *comparison_specs(located.location), CheckSpec("rto", "rto"),
             CheckSpec("rpo", "rpo")]
    # RPO is the recovery point's age: the moment the bucket can be recovered to.
    return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=point.created_at,
                     kind_plan=S3RecoveryPointPlan(store, source, manifest))


@dataclass(frozen=True)
class S3RecoveryPointPlan(KindPlan):
    store: S3Store
    source: AwsBackupSource
    manifest: S3Manifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        point = RecoveryPoint.from_details(plan.located.details)
        client = s3_client(point.region or None, point.endpoint_url or None)
        opening = (adopted_bucket(client, point, store.name) if point.adopted_arn
                   else restored_bucket(client, point, store.name, role=self.source.iam_role_arn))
        with timed_sandbox(opening, timer, store=store.name, what="deleting the temporary bucket",
                           close_failed_start=True) as restored:
            result.sandbox = restored.info
            with timer.phase("restore"):
                check = self._restored(restored, point, result)
            if not check.passed:
                return not_restored(plan, result, "the recovery point was not restored", check)
            result.checks.append(check)
            with timer.phase("verify"):
                listing = restored.listing(manifest.prefix)
                changed = _changed(manifest, restored, listing, store=store.name)
            result.checks += comparison_checks(manifest.objects, listing, changed, plan.located.location,
                                               store.sample)
        if point.adopted_arn:  # AWS Backup restored it before this run: its job's time is the restore's
            timer.seconds["restore"] += point.adopted_restore_seconds
        return []

    def _restored(self, restored: RestoredBucket, point: RecoveryPoint, result: StoreVerification) -> CheckResult:
        if restored.adopted:
            return CheckResult("restore", "restore", True, "COMPLETED", "COMPLETED",
                               f"restored by AWS Backup restore job {restored.job_id} into s3://{restored.bucket}")
        timeout = self.source.restore_timeout if self.source.restore_timeout is not None else self.store.restore_timeout
        job, timed_out = wait_restore_job(backup_client(point.region or None, point.endpoint_url or None),
                                          restored.job_id, timeout, store=self.store.name)
        if timed_out:
            raise restore_timed_out(
                result, CheckResult("restore", "restore", False, "timed out", "COMPLETED",
                                    f"AWS Backup restore job {job.id} did not complete within {timeout:.0f}s; "
                                    f"last status {job.status!r}"),
                store=self.store.name, artifact_name=f"recovery point {point.recovery_point_arn}", tool="AWS Backup",
                seconds=timeout, check_what="the restore job in the AWS Backup console")
        detail = f" ({job.status_message})" if job.status_message else ""
        return CheckResult("restore", "restore", job.status == "COMPLETED", job.status, "COMPLETED",
                           f"AWS Backup restore job {job.id} into s3://{restored.bucket}: {job.status}{detail}")


def _changed(manifest: S3Manifest, restored: RestoredBucket, listing: dict[str, dict[str, object]], *,
             store: str) -> list[str]:
    try:
        return changed_names(manifest.objects, listing,
                             lambda key: object_sha256(restored.client, restored.bucket, key))
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(f"store {store}: cannot read a restored object in {restored.location}: "
                           f"{describe_error(exc)}", hint=permission_hint(exc, BUCKET_ACTIONS)) from None
