"""AWS API clients and what the harness tags in AWS.

Credentials, region, profile and role come from boto3's standard config chain (env, ~/.aws, SSO, instance or
task role); an inventory's `region` / `endpoint_url` override it for one source, and boto3 itself reads env
AWS_ENDPOINT_URL (the tests point everything at moto's server that way). Clients are made per use, never at
import time.
"""

from __future__ import annotations

import functools
import math
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    import boto3.session
    import botocore.loaders
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from mypy_boto3_backup import BackupClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_s3 import S3Client

# Every resource the harness creates carries these tags; `restoreproof janitor` finds leftovers by them.
SANDBOX_TAG = "restoreproof:sandbox"  # value: the run (or store run) that created it
CREATED_TAG = "restoreproof:created-at"  # value: ISO 8601 UTC, so age is known without the service's own field
STORE_TAG = "restoreproof:store"

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation",
                 "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidAccessKeyId"}


# boto3 and botocore (but their light exceptions module) are imported on first use: together they take ~0.5 s
# of CPU to import, which every CLI start and every pytest run not touching AWS would otherwise pay.
@functools.cache
def _config() -> Config:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="restoreproof")


@functools.cache
def _loader() -> botocore.loaders.Loader:
    import botocore.loaders

    return botocore.loaders.create_loader()


def _session(region: str | None) -> boto3.session.Session:
    """A fresh session (credentials are resolved anew, e.g. after a role's env changed), sharing one loader:
    parsing the service models again for every client would cost ~0.3s each."""
    import boto3.session
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.session.Session(botocore_session=core, region_name=region)


def config_region() -> str | None:
    """The region the standard AWS config chain names (env AWS_REGION/AWS_DEFAULT_REGION, the profile), if any."""
    return _session(None).region_name


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A client of a service the harness has no typed helper for (discovery lists ElastiCache, for one)."""
    return _session(region).client(service, endpoint_url=endpoint_url, config=_config())  # type: ignore[call-overload]


def s3_client(region: str | None = None, endpoint_url: str | None = None) -> S3Client:
    return _session(region).client("s3", endpoint_url=endpoint_url, config=_config())


def rds_client(region: str | None = None, endpoint_url: str | None = None) -> RDSClient:
    return _session(region).client("rds", endpoint_url=endpoint_url, config=_config())


def ec2_client(region: str | None = None, endpoint_url: str | None = None) -> EC2Client:
    """Read-only here: the security groups and VPCs a temporary instance is placed in."""
    return _session(region).client("ec2", endpoint_url=endpoint_url, config=_config())


def dynamodb_client(region: str | None = None, endpoint_url: str | None = None) -> DynamoDBClient:
    return _session(region).client("dynamodb", endpoint_url=endpoint_url, config=_config())


def backup_client(region: str | None = None, endpoint_url: str | None = None) -> BackupClient:
    return _session(region).client("backup", endpoint_url=endpoint_url, config=_config())


# boto3's managed transfers (s3transfer): a download at or above its threshold is ranged GETs in parallel; a copy
# at or above its threshold is a multipart copy (UploadPartCopy, parts in parallel), which S3 requires above
# 5 GiB, CopyObject's limit. Below that a copy stays one CopyObject, which keeps the source's single-part ETag
# (an S3 Inventory report's ETag can then still be compared). s3transfer widens parts to stay within 10,000.
MIB = 1 << 20
DOWNLOAD_THRESHOLD = DOWNLOAD_PART = 64 * MIB
COPY_THRESHOLD = 5 * 1024 * MIB
COPY_PART = 256 * MIB
TRANSFER_THREADS = 10


def transfer_config(*, threshold: int, part: int, threads: int = TRANSFER_THREADS) -> TransferConfig:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=threshold, multipart_chunksize=part, max_concurrency=threads)


def transfer_errors() -> tuple[type[Exception], ...]:
    """What a managed transfer (client.copy, client.download_file) raises: botocore's errors, and boto3's own
    when s3transfer failed or gave up retrying (for use in an `except`, evaluated only when one is raised)."""
    from boto3.exceptions import Boto3Error

    return ClientError, BotoCoreError, Boto3Error


def transfer_cause(exc: Exception) -> Exception:
    """The error behind a transfer's failure: boto3's RetriesExceededError carries the last attempt's."""
    from boto3.exceptions import RetriesExceededError

    if isinstance(exc, RetriesExceededError):
        last = exc.last_exception  # type: ignore[attr-defined]  # boto3 sets it; boto3-stubs leave it out
        return last if isinstance(last, Exception) else exc
    return exc


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def describe_error(exc: Exception) -> str:
    """`AccessDenied: <AWS's message>` for a service error, the botocore message otherwise (no credentials,
    endpoint unreachable). Neither carries secrets: AWS never echoes a secret key."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        return f"{error_code(exc)}: {message}" if message else error_code(exc)
    return str(exc)


def permission_hint(exc: Exception, actions: str) -> str | None:
    """The fix for an access or credentials problem, naming the IAM actions needed; None for other errors."""
    if isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED:
        return f"grant the harness's AWS identity {actions} (docs/aws.md: IAM permissions), or check which " \
               "profile/role the AWS config chain picked (`aws sts get-caller-identity`)"
    if isinstance(exc, BotoCoreError) and "credentials" in str(exc).lower():
        return "configure AWS credentials (env AWS_PROFILE, ~/.aws/config, or an instance/task role)"
    return None


def created_at_tag(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Tag(TypedDict):
    """The tag shape RDS, S3 and DynamoDB share."""

    Key: str
    Value: str


def sandbox_tags(run_id: str, store: str, now: datetime | None = None) -> list[Tag]:
    return [{"Key": SANDBOX_TAG, "Value": run_id}, {"Key": CREATED_TAG, "Value": created_at_tag(now)},
            {"Key": STORE_TAG, "Value": store}]


def tag_dict(tags: Any) -> dict[str, str]:
    """[{"Key": k, "Value": v}, ...] (RDS, S3, DynamoDB all use this shape) as a dict."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or []}


def sandbox_identifier(store: str) -> str:
    """`restoreproof-<store>-<random>`: valid as an RDS identifier (letters, digits, single hyphens, at most
    63) and as a DynamoDB table name."""
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", store.lower())).strip("-")[:40] or "store"
    return f"restoreproof-{slug}-{secrets.token_hex(4)}"


def waiter_config(seconds: float, poll_seconds: int) -> Any:
    """A boto3 WaiterConfig whose polls fit in `seconds`: a delay of at most `poll_seconds`, at least one
    attempt (so a timeout shorter than one poll still asks once)."""
    seconds = max(0.0, seconds)
    delay = max(1, min(poll_seconds, int(seconds // 10) or 1))
    return {"Delay": delay, "MaxAttempts": max(1, math.floor(seconds / delay))}
