"""MySQL from an RDS MySQL / MariaDB or Aurora MySQL snapshot: restored by AWS into a temporary instance (the
shared flow in verifiers/stores/aws_snapshot.py), then measured and judged exactly like a restored dump (same
measure_connected, same judge) against the manifest `capture mysql` wrote when the snapshot was taken; without a
manifest, and always for a point-in-time restore (`restore_to`), against the live database (`live`, live.py).

The data plane is the restored instance's endpoint as the snapshot's master user over TLS, the password from
MYSQL_PWD or ~/.my.cnf (never the inventory); or `endpoint_override`, a MySQL DSN (a tunnel, or in the tests a
local MariaDB while moto plays the control plane).
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pymysql.connections import Connection
from pymysql.cursors import Cursor
from pymysql.optionfile import Parser

from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.sandboxes.aws_login import Login, login_hint
from verifiers.sandboxes.aws_rds import RdsSandbox
from verifiers.sources import Artifact, Located
from verifiers.store_settings import RdsSnapshotSource
from verifiers.stores import aws_snapshot
from verifiers.stores.base import KindPlan, StorePlan, StoreVerification
from verifiers.stores.mysql.compare import data_specs
from verifiers.stores.mysql.dsn import MysqlTarget
from verifiers.stores.mysql.live import LiveBaseline, read_baseline, verify_restored
from verifiers.stores.mysql.live import data_specs as live_data_specs
from verifiers.stores.mysql.manifest import MysqlManifest
from verifiers.stores.mysql.service_restore import (
    connect_instance,
    load_restored_manifest,
    measure_restored,
    override_target,
)
from verifiers.stores.mysql.settings import MysqlStore
from verifiers.timing import RestoreTimer

OPTION_FILE = "~/.my.cnf"
LOGIN_HINT = "find the master password in MYSQL_PWD or ~/.my.cnf ([client] password=…)"


def plan_snapshot(store: MysqlStore, source: RdsSnapshotSource, located: Located) -> StorePlan:
    override_target(store, source.endpoint_override)  # a bad DSN fails the plan, before AWS is asked to restore

    def load(path: Path) -> MysqlManifest | LiveBaseline:
        return load_restored_manifest(path, store, source.database)

    def specs(reference: MysqlManifest | LiveBaseline) -> list[CheckSpec]:
        if isinstance(reference, LiveBaseline):
            return live_data_specs(store, reference)
        return data_specs(store, reference.facts)

    def baseline(moment: datetime) -> MysqlManifest | LiveBaseline:
        return read_baseline(store, moment, point_in_time=aws_snapshot.is_point_in_time(located),
                             database=source.database)

    return aws_snapshot.plan_snapshot(store, located, load=load, data_specs=specs,
                                      kind_plan=lambda reference: MysqlSnapshotPlan(store, source, reference),
                                      live=None if store.live is None else baseline)


@dataclass(frozen=True)
class MysqlSnapshotPlan(KindPlan):
    """An RDS MySQL / MariaDB or Aurora MySQL snapshot restored by AWS, measured like a restored dump against its
    manifest, or (`live`) against the live database."""

    store: MysqlStore
    source: RdsSnapshotSource
    manifest: MysqlManifest | LiveBaseline

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest, source = self.store, self.manifest, self.source

        def measure(sandbox: RdsSandbox, login: Login) -> list[CheckResult]:
            target = data_plane(sandbox, store, source, manifest.database, login)
            if isinstance(manifest, LiveBaseline):
                return verify_restored(lambda: connect_restored(target, store.name, login), store, manifest, timer)
            return measure_restored(lambda: connect_restored(target, store.name, login), store, manifest, timer)

        return aws_snapshot.verify_snapshot(plan, source, artifact, timer, result, measure=measure)


def data_plane(sandbox: RdsSandbox, store: MysqlStore, source: RdsSnapshotSource, database: str,
               login: Login | None = None) -> MysqlTarget:
    """Where to measure `database`: `endpoint_override` when set, else the restored instance's endpoint; as
    `login`'s user when it names one, else the snapshot's master user. The password is not kept in the target:
    `connect_restored` asks `login` for it per connection (an IAM token lives 15 minutes)."""
    override = override_target(store, source.endpoint_override)
    user = login.user if login is not None else None
    if override is not None:
        return dataclasses.replace(override, database=database, user=user or override.user)
    host, port = sandbox.endpoint()
    return MysqlTarget(database=database, host=host, port=port, user=user or sandbox.snapshot.master_username)


def connect_restored(target: MysqlTarget, store: str, login: Login | None = None) -> Connection[Cursor]:
    """Connect before measuring, so an unreachable instance or a refused login gets its own fix. The password:
    `login`'s secret (a reset password, an IAM token), else the target's, else (to a host) MYSQL_PWD / ~/.my.cnf."""
    password = login.secret() if login is not None and login.secret is not None else None
    if password is None and target.host and not target.unix_socket and target.password is None:
        password = _master_password(store)
    return connect_instance(target, store, instance="the restored RDS instance", password=password,
                            hint=f"{aws_snapshot.CONNECT_HINT}; "
                            f"{login_hint(login, LOGIN_HINT) if login else LOGIN_HINT}")


def _master_password(store: str) -> str:
    """MYSQL_PWD, else `password` of ~/.my.cnf's [client] group. Read with PyMySQL's own option-file parser
    rather than `read_default_file`, which would also take a `socket` from that file and ignore the host."""
    if "MYSQL_PWD" in os.environ:
        return os.environ["MYSQL_PWD"]
    path = Path(OPTION_FILE).expanduser()
    if not path.is_file():
        return ""
    parser = Parser(strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        # The parser's message quotes the offending line, which may be the password: never show it.
        raise SandboxError(f"store {store}: {path} is not a readable option file",
                           hint="fix it ([client] then password=…) or set MYSQL_PWD") from None
    return str(parser.get("client", "password")) if parser.has_option("client", "password") else ""

