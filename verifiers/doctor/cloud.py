"""Which credentials and region a cloud source would use here, resolved the way its SDK resolves them (boto3's
session chain, google.auth's Application Default Credentials, an Azure connection string or what
DefaultAzureCredential reads from the environment), naming where they come from and never what they are. Offline
unless `probe`: then one short request proves they work (STS GetCallerIdentity, a Google token, an Azure token).

Each SDK is imported here only after its extra was found installed (verifiers/extras.py): boto3 alone takes
~0.5 s to import, which a `doctor` without cloud sources should not pay."""

from __future__ import annotations

import functools
import os
import shutil
from typing import Any

from verifiers.azure_storage import CONNECTION_STRING_ENV, blob_service
from verifiers.azure_storage import CREDENTIAL_HINT as AZURE_CREDENTIAL_HINT
from verifiers.diagnosis import Finding, fail, ok, warn, worst
from verifiers.errors import SourceError
from verifiers.extras import missing_modules
from verifiers.gcp import CREDENTIAL_HINT as GCP_CREDENTIAL_HINT
from verifiers.gcp import EMULATOR_ENV
from verifiers.inventory_cloud import (
    AzureBlobSource,
    AzureContainerSource,
    CloudSqlBackupSource,
    GcsBucketSource,
    GcsSource,
)
from verifiers.redaction import redact_secrets
from verifiers.store_settings import AnySource, AwsBackupSource, AwsSettings, S3BucketSource, S3Source

# source type -> the extra its SDK comes with; a type not listed (file) needs none
SOURCE_EXTRAS = {"s3": "aws", "rds-snapshot": "aws", "s3-bucket": "aws", "dynamodb-backup": "aws",
                 "gcs": "gcp", "gcs-bucket": "gcp", "azure-blob": "azure", "azure-container": "azure",
                 "cloudsql-backup": "gcp", "aws-backup": "aws"}
# S3 answers without a region (us-east-1's endpoint)
REGIONAL = frozenset({"rds-snapshot", "dynamodb-backup", "aws-backup"})
PROBE_TIMEOUT = 5  # seconds per connect and per read; one attempt
AWS_CREDENTIAL_HINT = ("configure AWS credentials: env AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), "
                       "~/.aws/config, SSO, or an instance/task role (in CI: a role assumed with the OIDC token)")
AWS_REGION_HINT = "set `region` on the source, or AWS_REGION / the profile's region"


def extra_finding(extra: str, needed_by: str) -> Finding | None:
    """A failure naming the pip command when `extra` is not installed, else None."""
    missing = missing_modules(extra)
    if not missing:
        return None
    return fail("extra", f"{needed_by} needs the '{extra}' extra ({', '.join(missing)} not installed)",
                f"pip install 'restoreproof[{extra}]'")


def source_findings(source: AnySource, *, probe: bool) -> list[Finding]:
    """The source's SDK and the credentials and region it would use."""
    extra = SOURCE_EXTRAS.get(source.type)
    if extra is None:
        return []
    if missing := extra_finding(extra, f"the {source.type} source"):
        return [missing]
    if isinstance(source, AwsSettings):
        found = list(aws_findings(source.region, source.endpoint_url, needs_region=source.type in REGIONAL,
                                  probe=probe))
        if probe and isinstance(source, S3Source | S3BucketSource) and worst(found) != "fail":
            found.append(head_bucket(source.bucket, region=source.region, endpoint_url=source.endpoint_url,
                                     subject="bucket", what=f"s3://{source.bucket}", actions="s3:ListBucket",
                                     missing="check `bucket` on the source"))
        if probe and isinstance(source, AwsBackupSource) and worst(found) != "fail":
            found.append(backup_vault(source.vault, region=source.region, endpoint_url=source.endpoint_url))
        return found
    if isinstance(source, GcsSource | GcsBucketSource):
        return list(gcp_findings(source.project, probe=probe))
    if isinstance(source, CloudSqlBackupSource):
        return list(cloudsql_findings(source.project, probe=probe))
    if isinstance(source, AzureBlobSource | AzureContainerSource):
        return list(azure_findings(source.account_url, probe=probe))
    return []


def forget() -> None:
    """Resolve anew: each source's credentials are resolved once per doctor run (several stores usually share one
    configuration), never carried into the next (the environment may have changed)."""
    for cached in (aws_findings, gcp_findings, cloudsql_findings, azure_findings):
        cached.cache_clear()


def _endpoint(endpoint_url: str | None) -> str | None:
    return endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


@functools.cache
def aws_findings(region: str | None, endpoint_url: str | None, *, needs_region: bool = False,
                 probe: bool = False) -> tuple[Finding, ...]:
    """boto3's credentials method (env, shared-credentials-file, assume-role, sso, iam-role, ...) and profile,
    the region and where it came from, the endpoint when not AWS's; with `probe`, the identity STS names."""
    import boto3.session
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(region_name=region)
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # a named profile that does not exist, a broken config file
        return (fail("credentials", f"AWS configuration: {exc}", AWS_CREDENTIAL_HINT),)
    findings: list[Finding] = []
    endpoint = _endpoint(endpoint_url)
    at = f", endpoint {redact_secrets(endpoint)}" if endpoint else ""
    if credentials is None:
        findings.append(fail("credentials", "no AWS credentials found (env, shared credentials and config files, "
                             "SSO, container or instance role)" + at, AWS_CREDENTIAL_HINT))
    else:
        profile = f", profile {session.profile_name}" if session.profile_name != "default" else ""
        findings.append(ok("credentials", f"AWS credentials from {credentials.method}{profile}{at}"))
    if session.region_name is None:
        detail = "no AWS region (inventory, AWS_REGION / AWS_DEFAULT_REGION or the profile)"
        findings.append(fail("region", detail, AWS_REGION_HINT) if needs_region
                        else warn("region", detail + ": S3 requests go to us-east-1's endpoint", AWS_REGION_HINT))
    else:
        origin = "the inventory" if region else "the AWS config chain"
        findings.append(ok("region", f"{session.region_name} (from {origin})"))
    if probe and credentials is not None:
        findings.append(_caller_identity(session, endpoint))
    return tuple(findings)


def probe_config() -> Any:
    from botocore.config import Config

    return Config(connect_timeout=PROBE_TIMEOUT, read_timeout=PROBE_TIMEOUT, retries={"total_max_attempts": 1},
                  user_agent_extra="restoreproof-doctor")


def _caller_identity(session: Any, endpoint: str | None) -> Finding:
    from botocore.exceptions import BotoCoreError, ClientError

    from verifiers.aws import describe_error

    try:
        sts = session.client("sts", endpoint_url=endpoint, config=probe_config(),
                             region_name=session.region_name or "us-east-1")
        identity = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return fail("identity", f"STS GetCallerIdentity failed: {redact_secrets(describe_error(exc))}",
                    AWS_CREDENTIAL_HINT)
    return ok("identity", f"STS: {identity.get('Arn', '?')}")


def head_bucket(bucket: str, *, region: str | None, endpoint_url: str | None, subject: str, what: str, actions: str,
                missing: str) -> Finding:
    """Whether S3 answers HeadBucket for `bucket` (--probe only): one request, a short timeout."""
    import boto3.session
    from botocore.exceptions import BotoCoreError, ClientError

    from verifiers.aws import describe_error, error_code

    try:
        client = boto3.session.Session(region_name=region).client("s3", endpoint_url=_endpoint(endpoint_url),
                                                                  config=probe_config())
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return fail(subject, f"{what}: no bucket {bucket}", missing)
        return fail(subject, f"{what}: HeadBucket refused: {describe_error(exc)}", f"grant the identity {actions}")
    except BotoCoreError as exc:
        return fail(subject, f"{what}: S3 does not answer: {redact_secrets(str(exc))}",
                    "check the network path to S3 (or the endpoint: AWS_ENDPOINT_URL, endpoint_url)")
    return ok(subject, f"{what}: the bucket answers (HeadBucket)")


def backup_client_for_probe(region: str | None, endpoint_url: str | None) -> Any:
    import boto3.session

    return boto3.session.Session(region_name=region).client("backup", endpoint_url=_endpoint(endpoint_url),
                                                            config=probe_config())


def backup_vault(vault: str, *, region: str | None, endpoint_url: str | None) -> Finding:
    """Whether AWS Backup lists the vault's recovery points to this identity (--probe only): the call the
    aws-backup source makes, asking for one."""
    from botocore.exceptions import BotoCoreError, ClientError

    from verifiers.aws import describe_error, error_code

    what = f"backup vault {vault}"
    try:
        backup_client_for_probe(region, endpoint_url).list_recovery_points_by_backup_vault(BackupVaultName=vault,
                                                                                            MaxResults=1)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return fail("vault", f"{what}: no such vault", "check `vault` and `region` on the source")
        return fail("vault", f"{what}: ListRecoveryPointsByBackupVault refused: {describe_error(exc)}",
                    "grant the identity backup:ListRecoveryPointsByBackupVault and backup:DescribeRecoveryPoint "
                    "(docs/aws-backup.md)")
    except BotoCoreError as exc:
        return fail("vault", f"{what}: AWS Backup does not answer: {redact_secrets(str(exc))}",
                    "check the network path to AWS Backup (or the endpoint: AWS_ENDPOINT_URL, endpoint_url)")
    return ok("vault", f"{what}: its recovery points can be listed")


@functools.cache
def gcp_findings(project: str | None, *, probe: bool = False) -> tuple[Finding, ...]:
    """Application Default Credentials: where from, which project; with `probe`, a token is fetched."""
    if emulator := os.environ.get(EMULATOR_ENV):
        return (ok("credentials", f"none needed: the emulator at {redact_secrets(emulator)} ({EMULATOR_ENV})"),)
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError

    try:
        credentials, found_project = google.auth.default()
    except DefaultCredentialsError as exc:
        return (fail("credentials", f"no Google Application Default Credentials ({str(exc).splitlines()[0]})",
                     GCP_CREDENTIAL_HINT),)
    kind = f"{type(credentials).__module__.rpartition('.')[2]}.{type(credentials).__name__}"
    origin = "GOOGLE_APPLICATION_CREDENTIALS" if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") else \
        "Application Default Credentials"
    who = getattr(credentials, "service_account_email", None)
    findings = [ok("credentials", f"{kind} from {origin}" + (f" ({who})" if who and who != "default" else ""))]
    chosen = project or found_project
    findings.append(ok("project", f"{chosen} (from {'the inventory' if project else 'the credentials'})") if chosen
                    else warn("project", "no Google Cloud project", "set `project` on the source, or "
                          "GOOGLE_CLOUD_PROJECT"))
    if probe:
        from google.auth.transport.requests import Request

        try:
            credentials.refresh(Request())  # type: ignore[no-untyped-call]  # google-auth is untyped here
            findings.append(ok("identity", "a token was issued"))
        except GoogleAuthError as exc:
            findings.append(fail("identity", f"no token: {str(exc).splitlines()[0][:300]}", GCP_CREDENTIAL_HINT))
    return tuple(findings)


@functools.cache
def cloudsql_findings(project: str, *, probe: bool = False) -> tuple[Finding, ...]:
    """A cloudsql-backup source: the Admin API fake when RESTOREPROOF_SQLADMIN_ENDPOINT is set, else Application
    Default Credentials as for GCS, with the inventory's project (the one the temporary instance is made in)."""
    from verifiers.cloudsql import ENDPOINT_ENV

    if endpoint := os.environ.get(ENDPOINT_ENV):
        return (ok("credentials", f"none needed: the Cloud SQL Admin API at {redact_secrets(endpoint)} "
                   f"({ENDPOINT_ENV})"), ok("project", f"{project} (from the inventory)"))
    found = [f for f in gcp_findings(project, probe=probe) if f.subject != "project"]
    return (*found, ok("project", f"{project} (from the inventory; the temporary instance is created there)"))


def _azure_environment() -> str | None:
    """What DefaultAzureCredential would use from this environment, without asking anything."""
    env = os.environ
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID"):
        if env.get("AZURE_CLIENT_SECRET"):
            return "a service principal's secret (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
        if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
            return "a service principal's certificate (AZURE_CLIENT_CERTIFICATE_PATH)"
        if env.get("AZURE_FEDERATED_TOKEN_FILE"):
            return "workload identity (AZURE_FEDERATED_TOKEN_FILE)"
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        return "a managed identity (IDENTITY_ENDPOINT)"
    if shutil.which("az"):
        return "the Azure CLI's sign-in (`az login`)"
    return None


@functools.cache
def azure_findings(account_url: str, *, probe: bool = False) -> tuple[Finding, ...]:
    """A connection string for the account (its account checked against the inventory's, its key never shown),
    else what DefaultAzureCredential would use; with `probe`, a token for Storage is fetched."""
    if os.environ.get(CONNECTION_STRING_ENV):
        try:
            blob_service(account_url)
        except SourceError as exc:
            return (fail("credentials", exc.message, exc.hint),)
        kind = "a SAS" if "sharedaccesssignature=" in os.environ[CONNECTION_STRING_ENV].lower() else "a shared key"
        return (ok("credentials", f"{CONNECTION_STRING_ENV} for {account_url} ({kind})"),)
    if not probe:
        found = _azure_environment()
        if found:
            return (ok("credentials", f"DefaultAzureCredential: {found} (not probed)"),)
        return (warn("credentials", "no Azure credential in the environment (DefaultAzureCredential may still find "
                     "a managed identity on an Azure host: --probe asks)", AZURE_CREDENTIAL_HINT),)
    from azure.core.exceptions import AzureError
    from azure.identity import DefaultAzureCredential

    try:
        DefaultAzureCredential().get_token("https://storage.azure.com/.default")
    except AzureError as exc:
        return (fail("credentials", f"DefaultAzureCredential found no usable credential: "
                     f"{str(exc).splitlines()[0][:300]}", AZURE_CREDENTIAL_HINT),)
    found = _azure_environment() or "a managed identity"
    return (ok("credentials", f"DefaultAzureCredential: a token for Storage was issued ({found})"),)
