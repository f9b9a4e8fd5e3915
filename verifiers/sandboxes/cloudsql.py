"""A Cloud SQL backup restored into a temporary, labelled instance, deleted (and the deletion waited for) when the
context exits, on success and on every failure.

The instance is created first (instances.insert: the source's database version, edition and disk size, the
harness's labels, no backups, no deletion protection, TLS only), then the backup run is restored into it
(instances.restoreBackup). A restored instance keeps the source's users and their passwords, so the harness sets
a random password of its own on the built-in user (users.update), held in memory only and registered as a secret
so no log, report or evidence shows it. Production's passwords are never needed.

The deletion is attempted whenever insert was asked, whatever happened after (a not-found is fine). Anything that
cannot be deleted is named; `restoreproof janitor --cloud gcp --delete` finds it by its label.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from verifiers.cloudsql import (
    LABEL_TEMPORARY,
    CloudSqlApiError,
    OperationTimeout,
    api_call,
    temporary_labels,
    temporary_name,
    wait_operation,
)
from verifiers.errors import SandboxError
from verifiers.redaction import register_secret
from verifiers.sandboxes import SandboxInfo
from verifiers.sources.cloudsql_backup import BackupRun

if TYPE_CHECKING:
    from googleapiclient._apis.sqladmin.v1 import SQLAdminResource
    from googleapiclient._apis.sqladmin.v1.schemas import DatabaseInstance, InstancesRestoreBackupRequest, User

log = logging.getLogger(__name__)

# The user every Cloud SQL instance of an engine has (the one `rootPassword` sets), and its host (MySQL only).
BUILTIN_USERS: dict[str, tuple[str, str | None]] = {"postgres": ("postgres", None), "mysql": ("root", "%")}
PORTS = {"postgres": 5432, "mysql": 3306}
PASSWORD_BYTES = 24


@dataclass(frozen=True)
class CloudSqlSandboxSettings:
    store: str
    run_id: str
    tier: str | None  # None: the source instance's
    region: str | None  # None: the source instance's
    network: str | None  # a private IP in this VPC network; None: a public IP open to `authorized_networks`
    authorized_networks: tuple[str, ...]
    timeout: float  # bounds each wait: create, delete (the restore's own is given to `restore`)


@dataclass(frozen=True)
class Restored:
    """How the restore operation ended."""

    ok: bool
    timed_out: bool
    message: str


@dataclass(frozen=True)
class Login:
    """Where and as whom to connect to the restored instance. The password is the harness's own random one."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)


@dataclass
class CloudSqlSandbox:
    client: SQLAdminResource
    backup: BackupRun
    settings: CloudSqlSandboxSettings
    name: str
    labels: dict[str, str]
    operations: list[str] = field(default_factory=list)

    @property
    def project(self) -> str:
        return self.backup.project

    @property
    def info(self) -> SandboxInfo:
        details = {"instance": f"{self.project}:{self.name}", "region": self.settings.region or self.backup.region,
                   "tier": self.settings.tier or self.backup.tier,
                   "ip": f"private ({self.settings.network})" if self.settings.network else "public, authorized "
                   f"networks {', '.join(self.settings.authorized_networks) or 'none'}",
                   "labels": ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())),
                   "operations": ", ".join(self.operations)}
        return SandboxInfo(type="gcp-cloudsql", engine=self.backup.engine, version=self.backup.database_version,
                           details=details)

    def _what(self, call: str) -> str:
        return f"store {self.settings.store}: temporary Cloud SQL instance {self.project}:{self.name}: {call}"

    def _wait(self, operation: Any, call: str, timeout: float) -> None:
        self.operations.append(str(operation.get("name", "?")))
        wait_operation(self.client, self.project, operation, timeout=timeout, what=self._what(call))

    def create(self) -> None:
        what = self._what("instances.insert")
        operation = api_call(self.client.instances().insert(project=self.project, body=self._body()), what)
        self._wait(operation, "instances.insert", self.settings.timeout)

    def restore(self, timeout: float) -> Restored:
        """Restore the backup run into the instance and wait (at most `timeout` seconds)."""
        body: InstancesRestoreBackupRequest = {"restoreBackupContext": {
            "backupRunId": self.backup.id, "instanceId": self.backup.instance, "project": self.backup.project}}
        what = self._what("instances.restoreBackup")
        try:
            operation = api_call(self.client.instances().restoreBackup(
                project=self.project, instance=self.name, body=body), what)
            self._wait(operation, "instances.restoreBackup", timeout)
        except OperationTimeout as exc:
            return Restored(False, True, exc.message)
        except CloudSqlApiError as exc:
            if exc.status:  # the request itself was refused (permission, quota): the run's error, not a verdict
                raise SandboxError(exc.message, hint=exc.hint) from None
            return Restored(False, False, exc.message)
        return Restored(True, False, f"backup run {self.backup.id} of {self.backup.instance} restored into "
                        f"{self.project}:{self.name}")

    def login(self) -> Login:
        """Set a random password on the built-in user (users.update, waited for) and say where to connect."""
        engine = self.backup.engine
        if engine not in BUILTIN_USERS:
            raise SandboxError(f"store {self.settings.store}: Cloud SQL {self.backup.database_version} is not a "
                               "PostgreSQL or MySQL instance", hint="restore PostgreSQL or MySQL backups only")
        user, host = BUILTIN_USERS[engine]
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        register_secret(password)
        body = cast("User", {"name": user, "password": password} | ({"host": host} if host else {}))
        params: dict[str, Any] = {"name": user} | ({"host": host} if host else {})
        try:
            operation = api_call(self.client.users().update(project=self.project, instance=self.name, body=body,
                                                            **params), self._what(f"users.update {user}"))
            self._wait(operation, f"users.update {user}", self.settings.timeout)
        except CloudSqlApiError as exc:
            raise SandboxError(exc.message, hint=exc.hint) from None
        return Login(self.address(), PORTS[engine], user, password)

    def address(self) -> str:
        """The private IP with `network`, else the public (PRIMARY) one."""
        try:
            found = api_call(self.client.instances().get(project=self.project, instance=self.name),
                             self._what("instances.get"))
        except CloudSqlApiError as exc:
            raise SandboxError(exc.message, hint=exc.hint) from None
        wanted = "PRIVATE" if self.settings.network else "PRIMARY"
        for address in found.get("ipAddresses", []):
            if address.get("type") == wanted and address.get("ipAddress"):
                return str(address["ipAddress"])
        raise SandboxError(f"{self._what('instances.get')}: it has no {wanted} IP address",
                           hint="check stores.source.network (private services access must be set up for it)"
                           if self.settings.network else "check the project's organisation policy on public IPs "
                           "(constraints/sql.restrictPublicIp), or set stores.source.network")

    def _body(self) -> DatabaseInstance:
        ip: dict[str, Any] = {"sslMode": "ENCRYPTED_ONLY"}
        if self.settings.network:
            ip |= {"ipv4Enabled": False, "privateNetwork": self.settings.network}
        else:
            ip |= {"ipv4Enabled": True, "authorizedNetworks": [
                {"value": cidr, "name": f"restoreproof-runner-{i}"}
                for i, cidr in enumerate(self.settings.authorized_networks)]}
        settings: dict[str, Any] = {
            "tier": self.settings.tier or self.backup.tier, "userLabels": self.labels, "ipConfiguration": ip,
            "availabilityType": "ZONAL", "deletionProtectionEnabled": False, "activationPolicy": "ALWAYS",
            "backupConfiguration": {"enabled": False, "pointInTimeRecoveryEnabled": False},
        }
        if self.backup.edition:
            settings["edition"] = self.backup.edition
        if self.backup.disk_gb:  # a restore needs at least the source's disk
            settings["dataDiskSizeGb"] = self.backup.disk_gb
        return cast("DatabaseInstance", {"name": self.name, "region": self.settings.region or self.backup.region,
                                         "databaseVersion": self.backup.database_version, "settings": settings})

    def delete(self) -> None:
        """Delete the instance and wait until it is gone; a not-found (never created) is fine."""
        what = self._what("instances.delete")
        try:
            operation = api_call(self.client.instances().delete(project=self.project, instance=self.name), what)
            self._wait(operation, "instances.delete", self.settings.timeout)
        except CloudSqlApiError as exc:
            if exc.status == 404:
                return
            raise SandboxError(f"could not delete the temporary Cloud SQL instance {self.project}:{self.name}: "
                               f"{exc.message}", hint="it is still running and costs money: delete it now "
                               "(`restoreproof janitor --cloud gcp --gcp-project "
                               f"{self.project} --delete --older-than 1s` finds it by its label "
                               f"{LABEL_TEMPORARY}=true)") from None
        log.info("store %s: deleted temporary Cloud SQL instance %s:%s", self.settings.store, self.project, self.name)


@contextlib.contextmanager
def temporary_instance(client: SQLAdminResource, backup: BackupRun,
                       settings: CloudSqlSandboxSettings) -> Iterator[CloudSqlSandbox]:
    """Create the labelled instance (returns once it is RUNNABLE: `restore` restores into it); delete it on exit,
    whatever happened. A deletion error after an earlier failure is logged and never hides that failure."""
    sandbox = CloudSqlSandbox(client, backup, settings, name=temporary_name(settings.store),
                              labels=temporary_labels(settings.run_id, settings.store))
    failing = True
    try:
        try:
            sandbox.create()
        except CloudSqlApiError as exc:
            raise SandboxError(exc.message, hint=exc.hint or "check stores.source.tier, region and network "
                               f"against the {backup.database_version} instance") from None
        yield sandbox
        failing = False
    finally:
        try:
            sandbox.delete()
        except SandboxError:
            if not failing:
                raise
            log.exception("store %s: deleting the temporary Cloud SQL instance failed after an earlier error",
                          settings.store)
