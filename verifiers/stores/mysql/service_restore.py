"""MySQL in an instance a cloud service restored (an RDS / Aurora snapshot, an AWS Backup recovery point, a Cloud
SQL backup): what snapshot.py and cloudsql.py share. The manifest names the database; `endpoint_override` (a DSN)
may stand in for the instance; the connection is TLS to the instance; the data is measured and judged exactly like
a restored dump (same measure_connected, same judge). Each caller keeps its own service's words: which instance a
failed connection was to and what to check.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import CheckResult
from verifiers.errors import CaptureError, ManifestError, SandboxError, SourceError
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql.compare import judge, measure_connected
from verifiers.stores.mysql.dsn import MysqlTarget, parse_dsn
from verifiers.stores.mysql.manifest import MysqlManifest, load_manifest
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import StepClock

CONNECT_TIMEOUT_SECONDS = 30


def load_restored_manifest(path: Path, store: MysqlStore, database: str | None) -> MysqlManifest:
    """The manifest at `path`; refused when stores.source.database (`database`) names another database."""
    manifest = load_manifest(path, store=store.name)
    if database is not None and database != manifest.database:
        raise ManifestError(
            f"store {store.name}: stores.source.database is {database!r} but manifest {path} was "
            f"captured from database {manifest.database!r}",
            hint="remove stores.source.database (a mysql store verifies the manifest's database) or point "
            "stores.source.manifest at a capture of that database")
    return manifest


def override_target(store: MysqlStore, endpoint_override: str | None) -> MysqlTarget | None:
    """stores.source.endpoint_override parsed, None when unset; a bad DSN is a SourceError."""
    if endpoint_override is None:
        return None
    try:
        return parse_dsn(endpoint_override, what=f"store {store.name}: stores.source.endpoint_override")
    except CaptureError as exc:
        raise SourceError(exc.message, hint=exc.hint) from None


def connect_instance(target: MysqlTarget, store: str, *, instance: str, hint: str,
                     password: str | None = None) -> Connection[Cursor]:
    """Connect (over TLS to a host; `password` instead of the target's when given), so an unreachable instance
    or a refused login gets its own fix: the error names `instance` ("the restored RDS instance") and `hint`."""
    kwargs: dict[str, Any] = {**target.connect_kwargs(), "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                              "autocommit": True}
    if password is not None:
        kwargs["password"] = password
    if target.host and not target.unix_socket and not target.ssl_ca:
        kwargs["ssl"] = encrypt_only()
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.MySQLError as exc:
        reason = str(exc.args[-1]) if exc.args else type(exc).__name__
        raise SandboxError(f"store {store}: cannot connect to {instance} at {target.redacted()}: "
                           f"{redact(reason.strip())}", hint=hint) from None


def measure_restored(connect: Callable[[], Connection[Cursor]], store: MysqlStore, manifest: MysqlManifest,
                     steps: StepClock) -> list[CheckResult]:
    """Measure and judge the restored database against `manifest`, CHECK TABLE too when the store asks for it;
    `connect` opens a fresh connection (each measurement closes its own)."""
    # The instance's accounts (every DEFINER among them) came back with the backup: create none.
    facts, assertion_results = measure_connected(connect(), store, manifest.database, create_definers=False,
                                                 expected=manifest.facts, steps=steps)
    judged = judge(store, manifest.facts, facts) + assertion_results
    if store.check_table:  # the backup's pages are production's: a table corrupted there is found here
        judged.append(corruption.check_tables(connect(), manifest.database, budget=store.check_table_budget,
                                              store=store.name))
    return judged


def encrypt_only() -> ssl.SSLContext:
    """TLS without verifying the certificate, as libpq's sslmode=require does for the PostgreSQL path: the
    instance's certificate chains to the service's own CA (RDS's, Cloud SQL's), not the system's; set `?ssl_ca=`
    in endpoint_override to verify."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
