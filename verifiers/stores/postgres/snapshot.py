"""PostgreSQL from an RDS / Aurora snapshot: restored by AWS into a temporary instance, then measured and judged
exactly like a restored pg_dump (same measure_database, same judge), against the manifest captured when the
snapshot was taken. The instance is deleted on every exit path.

Phases: provision = the restore request (AWS accepting it), restore = waiting until the instance is
available, verify = measuring it, teardown = the delete request.

The reference is the configured manifest. Comparing with the live source within a tolerance (for snapshots
taken without a manifest) is future work; until then such a store fails its plan with that fix named.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import psycopg
from psycopg.conninfo import make_conninfo

from verifiers.checks import DATABASE_SUBJECT, CheckResult, CheckSpec
from verifiers.errors import ManifestError, SandboxError
from verifiers.inventory import PostgresStore, RdsSnapshotSource
from verifiers.sandboxes.aws_rds import Availability, RdsSandbox, RdsSandboxSettings, restored_snapshot
from verifiers.sources import Artifact, Located
from verifiers.sources.rds_snapshot import Snapshot
from verifiers.stores import StorePlan, StoreVerification
from verifiers.stores.postgres.manifest import PostgresManifest, load_manifest
from verifiers.stores.postgres.restore import redact
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 30


def plan_snapshot(store: PostgresStore, located: Located) -> StorePlan:
    from verifiers.stores.postgres import selected_tables

    if located.manifest_path is None:
        raise ManifestError(
            f"store {store.name}: an rds-snapshot source needs a manifest to compare {located.location} with",
            hint="capture one when the snapshot is taken (`restoreproof capture postgres --dsn …` against the "
            "instance) and set stores.source.manifest to its path or s3:// URL",
        )
    manifest = load_manifest(located.manifest_path, store=store.name)
    snapshot = Snapshot.from_details(located.details)
    specs = [CheckSpec("artifact", snapshot.id), CheckSpec("restore", "restore"), CheckSpec("tables", "tables")]
    for table in selected_tables(store, manifest.facts):
        specs += [CheckSpec("row_count", table), CheckSpec("checksum", table), CheckSpec("schema", table)]
    specs.append(CheckSpec("schema", DATABASE_SUBJECT))
    specs += [CheckSpec("sequence", name) for name in sorted(manifest.facts.sequences)]
    specs += [CheckSpec("assertion", a.name) for a in store.assertions]
    specs += [CheckSpec("rto", "rto"), CheckSpec("rpo", "rpo")]
    # RPO is the snapshot's age: that is the moment production data can be recovered to.
    return StorePlan(store=store, located=located, specs=tuple(specs), reference_time=snapshot.created_at,
                     manifest=manifest)


def verify_snapshot(plan: StorePlan, artifact: Artifact, timer: RestoreTimer, result: StoreVerification) -> None:
    from verifiers.stores.postgres import judge, measure_conninfo, unverified

    store, manifest, source = plan.store, plan.manifest, plan.store.source
    assert isinstance(store, PostgresStore)
    assert isinstance(manifest, PostgresManifest)
    assert isinstance(source, RdsSnapshotSource)
    snapshot = Snapshot.from_details(plan.located.details)
    result.checks.append(snapshot_check(snapshot, artifact))
    timeout = source.restore_timeout if source.restore_timeout is not None else store.restore_timeout
    with rds_sandbox(store, source, snapshot, timer) as sandbox:
        result.sandbox = sandbox.info
        with timer.phase("restore"):
            ready = sandbox.wait_available(timeout)
        result.checks.append(availability_check(ready))
        if not ready.ok:
            result.checks += unverified(plan, "the snapshot was not restored")
            return
        with timer.phase("verify"):
            conninfo = data_plane(sandbox, source)
            probe_connection(conninfo, store.name)
            methods = {name: t.method for name, t in manifest.facts.tables.items()}
            facts, assertion_results = measure_conninfo(conninfo, store, methods)
    result.sandbox = sandbox.info  # with the ARNs of everything that was created, now deleted
    result.checks += judge(store, manifest.facts, facts) + assertion_results


@contextlib.contextmanager
def rds_sandbox(store: PostgresStore, source: RdsSnapshotSource, snapshot: Snapshot,
                timer: RestoreTimer) -> Iterator[RdsSandbox]:
    """The restore request timed as provision, the deletion as teardown (deletion errors never hide the
    error that ended the run)."""
    from verifiers.aws import rds_client

    client = rds_client(snapshot.region or None, snapshot.endpoint_url or None)
    settings = RdsSandboxSettings(store=store.name, instance_class=source.instance_class,
                                  subnet_group=source.subnet_group, security_groups=tuple(source.security_groups))
    stack = contextlib.ExitStack()
    try:
        with timer.phase("provision"):
            sandbox = stack.enter_context(restored_snapshot(client, snapshot, settings))
    except BaseException:
        with timer.phase("teardown"):
            stack.close()  # restored_snapshot already deleted what it created; nothing else is open
        raise
    failing = True
    try:
        yield sandbox
        failing = False
    finally:
        with timer.phase("teardown"):
            try:
                stack.close()
            except SandboxError:
                if not failing:
                    raise
                log.exception("store %s: deleting the RDS sandbox failed after an earlier error", store.name)


def data_plane(sandbox: RdsSandbox, source: RdsSnapshotSource) -> str:
    """Where to measure: `endpoint_override` when set, else the restored instance's endpoint as the snapshot's
    master user over TLS, with the password from libpq's own PGPASSWORD / ~/.pgpass (never the inventory)."""
    if source.endpoint_override:
        return source.endpoint_override
    host, port = sandbox.endpoint()
    return make_conninfo(host=host, port=port, dbname=source.database, user=sandbox.snapshot.master_username,
                         sslmode="require", connect_timeout=CONNECT_TIMEOUT_SECONDS)


def snapshot_check(snapshot: Snapshot, artifact: Artifact) -> CheckResult:
    encryption = f"encrypted with KMS key {snapshot.kms_key_id}" if snapshot.encrypted else "not encrypted"
    return CheckResult(
        "artifact", snapshot.id, True, "available", "available",
        f"{snapshot.snapshot_type} snapshot {artifact.location} of {'cluster' if snapshot.cluster else 'instance'} "
        f"{snapshot.source_id}, taken {snapshot.created}, {snapshot.engine} {snapshot.engine_version}, {encryption}")


def availability_check(ready: Availability) -> CheckResult:
    observed = "timed out" if ready.timed_out else ready.status
    return CheckResult("restore", "restore", ready.ok, observed, "available", ready.message)


def probe_connection(conninfo: str, store: str) -> None:
    """Connect once before measuring, so an unreachable instance or a missing password gets its own fix."""
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        raise SandboxError(f"store {store}: cannot connect to the restored RDS instance: {redact(str(exc).strip())}",
                           hint="the harness must reach the instance's VPC (run it there, or set "
                           "stores.source.endpoint_override to a tunnel) and find the master password in "
                           "PGPASSWORD or ~/.pgpass") from None

