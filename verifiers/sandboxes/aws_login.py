"""How the harness logs in to the temporary RDS instance, without production's secrets:

- `reset` (the default without endpoint_override): the master password of the temporary instance (or Aurora
  cluster) is reset to a random one (ModifyDBInstance / ModifyDBCluster, ApplyImmediately), generated here with
  `secrets`, held in memory only and registered with verifiers.redaction so no log, report or evidence shows it;
- `iam`: IAM database authentication is enabled on the temporary instance and each connection gets a fresh
  token (generate_db_auth_token, valid 15 minutes), over TLS, as `iam_user` (required: no default); that user
  must already be an IAM user in production (PostgreSQL: GRANT rds_iam; MySQL: IDENTIFIED WITH AWSAuthenticationPlugin);
- `environment`: libpq's / the MySQL client's own (PGPASSWORD, ~/.pgpass, MYSQL_PWD, ~/.my.cnf), or the DSN of
  endpoint_override (the default with it).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from botocore.waiter import WaiterModel, create_waiter_with_client

from verifiers.aws import describe_error, permission_hint, waiter_config
from verifiers.errors import SandboxError
from verifiers.redaction import register_secret
from verifiers.sandboxes.aws_rds_adopted import CREDENTIALS_HINT, AdoptedRdsSandbox

if TYPE_CHECKING:
    from verifiers.sandboxes.aws_rds import RdsSandbox

CredentialsMode = Literal["reset", "iam", "environment"]
POLL_SECONDS = 15
PASSWORD_BYTES = 24  # 32 URL-safe characters: within RDS's 8..41 for every engine, none of / " @ or space

# Done when the instance (cluster) is available with no change still pending: right after ModifyDB* the status
# may still read "available" with the password pending, so the status alone would return too early.
_PENDING = "PendingModifiedValues.MasterUserPassword == null"
_WAITERS: dict[str, Any] = {"version": 2, "waiters": {
    "InstanceReset": {"operation": "DescribeDBInstances", "delay": POLL_SECONDS, "maxAttempts": 40, "acceptors": [
        {"state": "success", "matcher": "path", "expected": True,
         "argument": f"DBInstances[0].DBInstanceStatus == 'available' && DBInstances[0].{_PENDING}"},
        {"state": "failure", "matcher": "pathAny", "argument": "DBInstances[].DBInstanceStatus",
         "expected": "failed"}]},
    "ClusterReset": {"operation": "DescribeDBClusters", "delay": POLL_SECONDS, "maxAttempts": 40, "acceptors": [
        {"state": "success", "matcher": "path", "expected": True,
         "argument": f"DBClusters[0].Status == 'available' && DBClusters[0].{_PENDING}"}]},
    "InstanceIam": {"operation": "DescribeDBInstances", "delay": POLL_SECONDS, "maxAttempts": 40, "acceptors": [
        {"state": "success", "matcher": "path", "expected": True,
         "argument": "DBInstances[0].DBInstanceStatus == 'available' && "
                     "DBInstances[0].IAMDatabaseAuthenticationEnabled == `true`"},
        {"state": "failure", "matcher": "pathAny", "argument": "DBInstances[].DBInstanceStatus",
         "expected": "failed"}]},
    "ClusterIam": {"operation": "DescribeDBClusters", "delay": POLL_SECONDS, "maxAttempts": 40, "acceptors": [
        {"state": "success", "matcher": "path", "expected": True,
         "argument": "DBClusters[0].Status == 'available' && "
                     "DBClusters[0].IAMDatabaseAuthenticationEnabled == `true`"}]},
}}


@dataclass(frozen=True)
class Login:
    """Who the harness logs in as. `secret()` gives the password (reset) or a fresh token (iam); None: the
    client library finds it in the environment. Never printed: repr leaves the secret out."""

    mode: CredentialsMode
    user: str | None
    secret: Callable[[], str] | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The evidence's words for it: never the secret."""
        if self.mode == "reset":
            return (f"reset: master user {self.user}'s password reset to a random one the harness held in memory "
                    "only (never written)")
        if self.mode == "iam":
            return f"iam: IAM database authentication as {self.user}, a token per connection, TLS required"
        return "environment: the client's own (PGPASSWORD, ~/.pgpass, MYSQL_PWD, ~/.my.cnf) or endpoint_override"


def login_hint(login: Login, environment_hint: str) -> str:
    """What to check when logging in failed, for this way of logging in."""
    if login.mode == "reset":
        return (f"the harness reset {login.user}'s password on the temporary instance: check its events in the RDS "
                "console (the reset may still have been applying)")
    if login.mode == "iam":
        return (f"{login.user} must be an IAM database user in production (PostgreSQL: GRANT rds_iam TO "
                f"{login.user}; MySQL: IDENTIFIED WITH AWSAuthenticationPlugin) and the harness's identity needs "
                "rds-db:connect; or set stores.source.iam_user / credentials = \"reset\"")
    return environment_hint


def credentials_mode(configured: CredentialsMode | None, *, endpoint_override: bool) -> CredentialsMode:
    if configured is not None:
        return configured
    return "environment" if endpoint_override else "reset"


def log_in(sandbox: RdsSandbox, mode: CredentialsMode, *, iam_user: str | None, timeout: float) -> Login:
    """Make the temporary instance accept the harness (reset or iam) and say how to log in; waits, bounded by
    `timeout`, until RDS has applied the change."""
    if mode == "environment":
        return Login("environment", None)
    if mode == "iam" and not iam_user:  # the inventory requires it (store_settings.RdsRestoreSettings)
        raise SandboxError(f"store {sandbox.settings.store}: credentials = \"iam\" without iam_user",
                           hint="set stores.source.iam_user to the IAM database user the role may connect as")
    user = sandbox.snapshot.master_username if mode == "reset" else str(iam_user)
    if mode == "reset":
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        register_secret(password)  # before any call that could echo it
        _modify(sandbox, "rds:ModifyDBInstance / rds:ModifyDBCluster (MasterUserPassword)",
                MasterUserPassword=password)
        _wait(sandbox, "ClusterReset" if sandbox.cluster_id else "InstanceReset", timeout, "the password reset")
        return Login("reset", user, lambda: password)
    _modify(sandbox, "rds:ModifyDBInstance / rds:ModifyDBCluster (EnableIAMDatabaseAuthentication)",
            EnableIAMDatabaseAuthentication=True)
    _wait(sandbox, "ClusterIam" if sandbox.cluster_id else "InstanceIam", timeout, "IAM database authentication")
    host, port = sandbox.endpoint()

    def token() -> str:
        value = sandbox.client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user,
                                                      Region=sandbox.snapshot.region or None)
        register_secret(value)
        return value

    return Login("iam", user, token)


def _modify(sandbox: RdsSandbox, actions: str, **change: Any) -> None:
    try:
        if sandbox.cluster_id:
            sandbox.client.modify_db_cluster(DBClusterIdentifier=sandbox.cluster_id, ApplyImmediately=True, **change)
        else:
            sandbox.client.modify_db_instance(DBInstanceIdentifier=sandbox.instance_id, ApplyImmediately=True,
                                              **change)
    except (ClientError, BotoCoreError) as exc:
        what = "cluster" if sandbox.cluster_id else "instance"
        hint = permission_hint(exc, actions)
        if hint and isinstance(sandbox, AdoptedRdsSandbox) and isinstance(exc, ClientError):
            hint = CREDENTIALS_HINT
        raise SandboxError(
            f"store {sandbox.settings.store}: cannot set the credentials of the temporary RDS {what} "
            f"{sandbox.cluster_id or sandbox.instance_id}: {describe_error(exc)}",
            hint=hint or "set stores.source.credentials = \"environment\" and give the password in the "
            "environment, or check the instance in the RDS console") from None


def _wait(sandbox: RdsSandbox, name: str, timeout: float, what: str) -> None:
    waiter = create_waiter_with_client(name, WaiterModel(_WAITERS), sandbox.client)
    key = ("DBClusterIdentifier", sandbox.cluster_id) if sandbox.cluster_id else \
        ("DBInstanceIdentifier", sandbox.instance_id)
    started = time.monotonic()
    try:
        waiter.wait(**{key[0]: key[1]}, WaiterConfig=waiter_config(timeout, POLL_SECONDS))
    except WaiterError as exc:
        raise SandboxError(
            f"store {sandbox.settings.store}: RDS did not apply {what} to {key[1]} within "
            f"{time.monotonic() - started:.0f}s: {exc.last_response.get('Error', {}).get('Message', '') or exc}",
            hint="see the instance's events in the RDS console; raise restore_timeout if it was still modifying")\
            from None
