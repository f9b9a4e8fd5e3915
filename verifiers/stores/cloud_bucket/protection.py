"""How a GCS bucket or Azure container is kept: versioning / soft delete on, encryption at rest reported (and
the customer-managed key required where configured), public access off. Read from the data-plane APIs the
harness's identity already reads with, plus storage.buckets.get on GCS.

Azure's blob versioning and container soft delete are settings of the storage account's management plane (ARM),
which a data-plane credential cannot read: the versioning check there reads blob soft delete (the Blob service
properties), which is what keeps a deleted or overwritten backup recoverable for its retention days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifiers.checks import CheckResult, CheckSpec
from verifiers.stores.cloud_bucket.settings import BucketProtection

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient
    from google.cloud.storage import Bucket

CHECK = "protection"


def protection_specs(settings: BucketProtection) -> list[CheckSpec]:
    wanted = [("versioning", settings.versioning), ("encryption", settings.encryption),
              ("public_access", settings.public_access_blocked)]
    return [CheckSpec(CHECK, subject) for subject, on in wanted if on]


def gcs_protection(bucket: Bucket, settings: BucketProtection) -> list[CheckResult]:
    """`bucket` as read with storage.buckets.get (client.get_bucket)."""
    name = f"gs://{bucket.name}"
    checks = []
    if settings.versioning:
        soft_delete = int((bucket.soft_delete_policy.retention_duration_seconds or 0)
                          if bucket.soft_delete_policy else 0)
        observed = ", ".join([*(["object versioning on"] if bucket.versioning_enabled else []),
                              *([f"soft delete {soft_delete // 86400} days"] if soft_delete else [])]) or "off"
        checks.append(CheckResult(CHECK, "versioning", observed != "off", observed, "versioning or soft delete on",
                                  f"{name}: {observed}" + ("" if observed != "off" else
                                  " (a deleted or overwritten backup cannot be recovered; enable object versioning"
                                  " or soft delete)")))
    if settings.encryption:
        key = bucket.default_kms_key_name
        observed = f"CMEK {key}" if key else "Google-managed keys"
        ok = settings.kms_key is None or key == settings.kms_key
        expected = f"CMEK {settings.kms_key}" if settings.kms_key else "encrypted at rest"
        checks.append(CheckResult(CHECK, "encryption", ok, observed, expected,
                                  f"{name}: default encryption {observed}" + ("" if ok else f", not {expected}")))
    if settings.public_access_blocked:
        prevention = (bucket.iam_configuration.public_access_prevention or "unspecified"
                      if bucket.iam_configuration else "unspecified")
        ok = prevention == "enforced"
        checks.append(CheckResult(CHECK, "public_access", ok, f"public access prevention {prevention}",
                                  "public access prevention enforced",
                                  f"{name}: public access prevention {prevention}" + ("" if ok else
                                  " (set it: gcloud storage buckets update "
                                  f"{name} --public-access-prevention)")))
    return checks


def azure_protection(service: BlobServiceClient, container: str, settings: BucketProtection) -> list[CheckResult]:
    name = f"{service.url.rstrip('/')}/{container}"
    checks = []
    if settings.versioning:
        retention = service.get_service_properties().get("delete_retention_policy")
        days = retention.days if retention is not None and retention.enabled else None
        observed = f"blob soft delete {days} days" if days else "blob soft delete off"
        checks.append(CheckResult(CHECK, "versioning", bool(days), observed, "blob soft delete on",
                                  f"{name}: {observed}" + ("" if days else " (a deleted or overwritten backup cannot "
                                  "be recovered; enable blob soft delete and versioning on the account)")))
    props = service.get_container_client(container).get_container_properties()
    if settings.encryption:
        scope = props.encryption_scope.default_encryption_scope if props.encryption_scope else None
        observed = f"encryption scope {scope}" if scope else "the account's encryption (Microsoft-managed or CMEK)"
        ok = settings.kms_key is None or scope == settings.kms_key
        expected = f"encryption scope {settings.kms_key}" if settings.kms_key else "encrypted at rest"
        checks.append(CheckResult(CHECK, "encryption", ok, observed, expected,
                                  f"{name}: {observed}" + ("" if ok else f", not {expected}")))
    if settings.public_access_blocked:
        access = props.public_access
        checks.append(CheckResult(CHECK, "public_access", access is None, f"anonymous access {access or 'off'}",
                                  "anonymous access off", f"{name}: anonymous access {access or 'off'}" +
                                  ("" if access is None else " (set the container's access level to private)")))
    return checks
