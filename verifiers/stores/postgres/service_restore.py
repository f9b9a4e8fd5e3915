"""PostgreSQL in an instance a cloud service restored (an RDS / Aurora snapshot, an AWS Backup recovery point, a
Cloud SQL backup): what snapshot.py and cloudsql.py share. The connection is TLS to the instance (or the
`endpoint_override` DSN); the data is measured and judged exactly like a restored pg_dump (same measure_conninfo,
same judge), or against the live database with a live baseline. Each caller keeps its own service's words: which
instance a failed connection was to and what to check.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from verifiers.checks import CheckResult
from verifiers.errors import SandboxError
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.compare import judge, measure_conninfo, sample_plan
from verifiers.stores.postgres.live import LiveBaseline, verify_restored
from verifiers.stores.postgres.manifest import PostgresManifest
from verifiers.stores.postgres.restore import redact
from verifiers.stores.postgres.settings import PostgresStore
from verifiers.timing import StepClock

CONNECT_TIMEOUT_SECONDS = 30
DEFAULT_DATABASE = "postgres"


def probe_instance(conninfo: str, store: str, *, instance: str, hint: str) -> None:
    """Connect once before measuring, so an unreachable instance or a refused login gets its own fix: the error
    names `instance` ("the restored RDS instance") and `hint`."""
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        raise SandboxError(f"store {store}: cannot connect to {instance}: {redact(str(exc).strip())}",
                           hint=hint) from None


def measure_restored(conninfo: str, store: PostgresStore, manifest: PostgresManifest | LiveBaseline,
                     manifest_path: Path | None, steps: StepClock) -> list[CheckResult]:
    """Measure and judge the restored database at `conninfo` against `manifest` (or the live database, with a
    live baseline); amcheck too when the store asks for it."""
    if isinstance(manifest, LiveBaseline):
        judged = verify_restored(conninfo, store, manifest, steps=steps)
    else:
        methods = {name: t.method for name, t in manifest.facts.tables.items()}
        sampled = sample_plan(store, manifest.facts, manifest_path)
        facts, assertion_results = measure_conninfo(conninfo, store, methods, manifest.facts, sampled=sampled,
                                                    steps=steps)
        judged = judge(store, manifest.facts, facts, sampled) + assertion_results
    if store.amcheck:  # the backup's pages are production's: an index corrupted there is found here
        judged.append(corruption.check_indexes(conninfo, budget=store.amcheck_budget, store=store.name))
    return judged
