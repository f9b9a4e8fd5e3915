"""DynamoDB: a backup restored by AWS into a temporary table, judged by item count, an order-independent
checksum of the items and the key schema, against the manifest captured with the backup.

Phases: provision = the restore request, restore = waiting until the table is ACTIVE, verify = the scan,
teardown = deleting the table.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from verifiers import checks
from verifiers.aws import describe_error, dynamodb_client, permission_hint
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import ManifestError, SandboxError
from verifiers.sandboxes import timed_sandbox
from verifiers.sources import Artifact, Located
from verifiers.sources.dynamodb_backup import Backup
from verifiers.store_settings import AwsBackupSource, StoreSettings
from verifiers.stores import hash_ranges
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification, narrowed, not_restored
from verifiers.stores.dynamodb import self_test as dynamodb_self_test
from verifiers.stores.dynamodb.backup_restore import AdoptedTable, table_opening
from verifiers.stores.dynamodb.manifest import DynamoDbManifest, TableFacts, load_manifest, measure_table
from verifiers.stores.dynamodb.sandbox import RESTORE_ACTIONS, RestoredTable
from verifiers.stores.dynamodb.settings import DynamoDbStore
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)
KEY_HASH = "key-hash"  # a key may be personal data: a differing table is narrowed to ranges of its key's hash


class DynamoDbKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, DynamoDbStore)
        if located.manifest_path is None:  # the dynamodb-backup source requires one; aws-backup's is optional
            raise ManifestError(f"store {store.name}: a dynamodb store needs a manifest to compare "
                                f"{located.location} with",
                                hint="capture one with `restoreproof capture dynamodb` when the backup is taken and "
                                "set stores.source.manifest to its path or s3:// URL")
        manifest = load_manifest(located.manifest_path, store=store.name)
        table = manifest.table
        specs = [CheckSpec("artifact", Backup.from_details(located.details).name or located.location),
                 CheckSpec("restore", "restore"), CheckSpec("row_count", table), CheckSpec("checksum", table),
                 CheckSpec("schema", table), *(dynamodb_self_test.SPECS if store.self_test else ()),
                 CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
        # RPO is the backup's age: the moment the table can be recovered to.
        return StorePlan(store=store, located=located, specs=tuple(specs),
                         reference_time=Backup.from_details(located.details).created_at,
                         kind_plan=DynamoDbPlan(store, manifest))


@dataclass(frozen=True)
class DynamoDbPlan(KindPlan):
    """A DynamoDB backup (or point-in-time recovery) restored into a temporary table, compared with its manifest."""

    store: DynamoDbStore
    manifest: DynamoDbManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        backup = Backup.from_details(plan.located.details)
        if backup.pitr:
            result.checks.append(CheckResult(
                "artifact", backup.name, True, "ENABLED", "ENABLED",
                f"point-in-time recovery of table {backup.arn} to {backup.created} ({backup.pitr})"))
        else:
            result.checks.append(CheckResult(
                "artifact", backup.name or backup.arn, True, "AVAILABLE", "AVAILABLE",
                f"{backup.backup_type} backup {backup.arn} of table {backup.table}, taken {backup.created}"))
        own = store.source.restore_timeout if isinstance(store.source, AwsBackupSource) else None
        timeout = own if own is not None else store.restore_timeout
        with table_sandbox(store, backup, timer, plan.located.details) as table:
            result.sandbox = table.info
            with timer.phase("restore"):
                ready = table.wait_active(timeout)
                if ready.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                    raise restore_timed_out(
                        result, CheckResult("restore", "restore", False, "timed out", "ACTIVE", ready.message),
                        store=store.name, artifact_name=f"backup {backup.name or backup.arn}", tool="DynamoDB",
                        seconds=timeout, check_what="the restored table in the DynamoDB console")
            if isinstance(table, AdoptedTable):  # AWS Backup restored it before this run: its job's time counts
                timer.seconds["restore"] += table.restore_seconds
            restored = CheckResult("restore", "restore", ready.ok, "timed out" if ready.timed_out else ready.status,
                                   "ACTIVE", ready.message)
            if not ready.ok:
                return not_restored(plan, result, "the backup was not restored", restored)
            result.checks.append(restored)
            result.sandbox = table.info  # a table AWS Backup's restore job created has its ARN only now
            with timer.phase("verify"):
                try:
                    cut = manifest.facts.segments
                    judged = judge(manifest, measure_table(table.client, table.name, bits=cut.bits if cut else None))
                    if store.self_test:  # the restored table is a scratch copy: each change is put back anyway
                        judged += dynamodb_self_test.run(table.client, table.name, judged,
                                                         lambda changed: judge(manifest, changed),
                                                         bits=cut.bits if cut else None)
                except (ClientError, BotoCoreError) as exc:
                    raise SandboxError(f"store {store.name}: cannot scan or change restored table {table.arn}: "
                                       f"{describe_error(exc)}", hint=permission_hint(exc, RESTORE_ACTIONS)) from None
        return judged


def judge(manifest: DynamoDbManifest, facts: TableFacts) -> list[CheckResult]:
    want, subject = manifest.facts, manifest.table
    return [
        checks.row_count(subject, facts.items, want.items, 0.0),
        checks.checksum(subject, facts.checksum, want.checksum,
                        where=hash_ranges.narrowed(want.segments, facts.segments, label=KEY_HASH, noun="items"),
                        ranges=hash_ranges.differing_bounds(want.segments, facts.segments, label=KEY_HASH)),
        checks.schema(subject, facts.schema_, want.schema_),
    ]


@contextlib.contextmanager
def table_sandbox(store: DynamoDbStore, backup: Backup, timer: RestoreTimer,
                  details: Mapping[str, str]) -> Iterator[RestoredTable]:
    """The restore request timed as provision, the deletion as teardown; deletion errors never hide the error
    that ended the run."""
    client = dynamodb_client(backup.region or None, backup.endpoint_url or None)
    role = store.source.iam_role_arn if isinstance(store.source, AwsBackupSource) else None
    with timed_sandbox(table_opening(client, backup, store.name, details, role=role), timer, store=store.name,
                       what="deleting the temporary table", close_failed_start=True) as table:
        yield table


KIND = DynamoDbKind()
