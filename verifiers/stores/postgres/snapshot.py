"""PostgreSQL from an RDS / Aurora PostgreSQL snapshot: restored by AWS into a temporary instance (the shared flow
in verifiers/stores/aws_snapshot.py), then measured and judged exactly like a restored pg_dump (same
measure_conninfo, same judge) against the manifest captured when the snapshot was taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg.conninfo import make_conninfo

from verifiers.checks import CheckResult, CheckSpec
from verifiers.sandboxes.aws_login import Login, login_hint
from verifiers.sandboxes.aws_rds import RdsSandbox
from verifiers.sources import Artifact, Located
from verifiers.store_settings import RdsSnapshotSource
from verifiers.stores import aws_snapshot
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.compare import data_specs as manifest_data_specs
from verifiers.stores.postgres.live import LiveBaseline, read_baseline
from verifiers.stores.postgres.live import data_specs as live_data_specs
from verifiers.stores.postgres.manifest import PostgresManifest, load_manifest
from verifiers.stores.postgres.service_restore import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DATABASE,
    measure_restored,
    probe_instance,
)
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.timing import RestoreTimer

ENVIRONMENT_HINT = "find the master password in PGPASSWORD or ~/.pgpass"


def plan_snapshot(store: PostgresStore, source: RdsSnapshotSource, located: Located) -> StorePlan:
    def data_specs(manifest: PostgresManifest | LiveBaseline) -> list[CheckSpec]:
        if isinstance(manifest, LiveBaseline):
            return live_data_specs(manifest) + ([corruption.SPEC] if store.amcheck else [])
        return manifest_data_specs(store, manifest.facts)

    def load(path: Path) -> PostgresManifest | LiveBaseline:
        return load_manifest(path, store=store.name)

    def baseline(moment: datetime) -> PostgresManifest | LiveBaseline:
        return read_baseline(store, moment, point_in_time=aws_snapshot.is_point_in_time(located))

    return aws_snapshot.plan_snapshot(store, located, load=load, data_specs=data_specs,
                                      kind_plan=lambda manifest: PostgresSnapshotPlan(store, source, manifest),
                                      live=None if store.live is None else baseline)


@dataclass(frozen=True)
class PostgresSnapshotPlan(KindPlan):
    """An RDS / Aurora PostgreSQL snapshot restored by AWS, measured like a restored dump."""

    store: PostgresStore
    source: RdsSnapshotSource
    manifest: PostgresManifest | LiveBaseline

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest, source = self.store, self.manifest, self.source

        def measure(sandbox: RdsSandbox, login: Login) -> list[CheckResult]:
            conninfo = data_plane(sandbox, source, login)
            probe_connection(conninfo, store.name, login_hint(login, ENVIRONMENT_HINT))
            return measure_restored(conninfo, store, manifest, artifact.manifest_path, timer)

        return aws_snapshot.verify_snapshot(plan, source, artifact, timer, result, measure=measure)


def data_plane(sandbox: RdsSandbox, source: RdsSnapshotSource, login: Login) -> str:
    """Where to measure, and as whom: `endpoint_override` when set, else the restored instance's endpoint over
    TLS; the user and password (or IAM token) of `login`, else libpq's own PGPASSWORD / ~/.pgpass (never the
    inventory). The conninfo holds the secret: it is never logged (redaction masks it where text is shown)."""
    secret = {"password": login.secret()} if login.secret else {}
    if source.endpoint_override:
        if login.user is None:
            return source.endpoint_override
        return make_conninfo(source.endpoint_override, user=login.user, **secret)
    host, port = sandbox.endpoint()
    return make_conninfo(host=host, port=port, dbname=source.database or DEFAULT_DATABASE,
                         user=login.user or sandbox.snapshot.master_username, sslmode="require",
                         connect_timeout=CONNECT_TIMEOUT_SECONDS, **secret)


def probe_connection(conninfo: str, store: str, hint: str = ENVIRONMENT_HINT) -> None:
    """Connect once before measuring, so an unreachable instance or a refused login gets its own fix."""
    probe_instance(conninfo, store, instance="the restored RDS instance",
                   hint=f"{aws_snapshot.CONNECT_HINT}; {hint}")
