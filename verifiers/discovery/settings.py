"""The inventory's discovery tables: where to look for production stores (`[discovery.aws]`, `[discovery.gcp]`),
what to leave out and why (`[[discovery.ignore]]`), and the stores the harness cannot restore but the SOP asks to
list (`[[declared]]`). The SOP's per-store record (owner, escalation, data type, estimated size) is four fields
every store's settings and every declared store share, defined here once."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from verifiers.setting_types import StrictModel

AwsService = Literal["rds", "dynamodb", "s3", "elasticache"]
GcpService = Literal["cloudsql", "gcs"]
AWS_SERVICES: tuple[AwsService, ...] = ("rds", "dynamodb", "s3", "elasticache")
GCP_SERVICES: tuple[GcpService, ...] = ("cloudsql", "gcs")
DeclaredType = Literal["queue", "saas", "secrets", "config", "other"]
SOP_FIELDS = ("owner", "escalation", "data_type", "estimated_size")

COVERS_HELP = ("the cloud resources this store's backups protect, when its source does not say: an id/ARN, an ARN "
               "glob (arn:aws:rds:eu-west-1:*:db:orders: one region), or `<service>:<name>` (rds:orders, "
               "rds-cluster:orders, dynamodb:orders, s3:assets, elasticache:sessions, cloudsql:PROJECT/INSTANCE, "
               "gcs:bucket, or a glob; matches that name in every region); rds-snapshot, aws-backup, "
               "dynamodb-backup, s3-bucket, cloudsql-backup and gcs-bucket sources cover their own resource, in "
               "their region, without it (docs/inventory-completeness.md)")


# The SOP's per-store record, on every store (store_settings.StoreSettings) and every declared store: optional,
# reported as "not recorded" where missing.
OWNER = Field(default=None, min_length=1, description="SOP record: the team or person who owns the store's data")
ESCALATION = Field(default=None, min_length=1, description="SOP record: whom to call when its backup or restore "
                   "fails (a rota, an address; never a secret)")
DATA_TYPE = Field(default=None, min_length=1, description='SOP record: what the store holds, e.g. "customer PII", '
                  '"payments", "cache"')
ESTIMATED_SIZE = Field(default=None, min_length=1, description='SOP record: its size, as the SOP writes it, e.g. '
                       '"120 GB"')


def missing_sop_fields(record: StrictModel) -> list[str]:
    """The SOP record's fields a store (or declared store) leaves unset."""
    return [name for name in SOP_FIELDS if getattr(record, name) is None]


def _nonempty(values: list[str], what: str) -> list[str]:
    if any(not value.strip() for value in values):
        raise ValueError(f"an empty {what}; remove it or write one")
    return values


class _Filters(StrictModel):
    names: list[str] = Field(default_factory=list, description='globs over resource names (e.g. ["prod-*"]); a '
                             "resource matching any is production; empty: every name")

    @field_validator("names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return _nonempty(value, "name pattern")


class AwsDiscovery(_Filters):
    """Where to look in AWS: the standard AWS config chain's account, in these regions, for these services."""

    regions: list[str] = Field(min_length=1, description='the regions to list, e.g. ["eu-west-1", "us-east-1"]; '
                               "S3 buckets are listed once and kept when in one of them")
    services: list[AwsService] = Field(default_factory=lambda: list(AWS_SERVICES), min_length=1,
                                       description="the services to list (default: all of rds, dynamodb, s3, "
                                       "elasticache)")
    tags: dict[str, str] = Field(default_factory=dict, description='tags a production resource has, all of them '
                                 '(e.g. {env = "prod"}); empty: any tags')
    endpoint_url: str | None = Field(default=None, description="AWS API endpoint; default: env AWS_ENDPOINT_URL "
                                     "(tests point it at moto's server)")

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return _nonempty(value, "region")


class GcpDiscovery(_Filters):
    """Where to look in Google Cloud, with Application Default Credentials."""

    projects: list[str] = Field(min_length=1, description="the projects to list")
    services: list[GcpService] = Field(default_factory=lambda: list(GCP_SERVICES), min_length=1,
                                       description="the services to list (default: cloudsql and gcs)")
    labels: dict[str, str] = Field(default_factory=dict, description='labels a production resource has, all of '
                                   'them (e.g. {env = "prod"}); empty: any labels')

    @field_validator("projects")
    @classmethod
    def _projects(cls, value: list[str]) -> list[str]:
        return _nonempty(value, "project")


class IgnoreEntry(StrictModel):
    """A discovered resource that is knowingly not verified, and why (shown with it in every report)."""

    match: str = Field(min_length=1, description="the resource's id (ARN), `<service>:<name>`, or a glob over "
                       "either (e.g. s3:*-logs)")
    reason: str = Field(min_length=1, description="why it needs no restore test (e.g. \"access logs, rebuilt "
                        "from the load balancer\"); shown beside it")

    @field_validator("match")
    @classmethod
    def _match_said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank; write the resource's id (ARN), `<service>:<name>` or a glob over either")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank; say why the resource needs no restore test (every report shows it)")
        return value


class DiscoverySettings(StrictModel):
    """`[discovery]`: compare the inventory with what the cloud accounts hold (docs/inventory-completeness.md)."""

    aws: AwsDiscovery | None = Field(default=None, description="AWS: regions, services, filters")
    gcp: GcpDiscovery | None = Field(default=None, description="Google Cloud: projects, services, filters")
    ignore: list[IgnoreEntry] = Field(default_factory=list, description="resources found but knowingly not "
                                      "verified, each with its reason")

    @model_validator(mode="after")
    def _somewhere(self) -> DiscoverySettings:
        if self.aws is None and self.gcp is None:
            raise ValueError("names no cloud to look in, so nothing would be compared; add [discovery.aws] "
                             "(regions, filters) or [discovery.gcp] (projects, filters), or remove [discovery]")
        return self


class DeclaredStore(StrictModel):
    """A store the harness cannot restore (a queue, a SaaS such as Stripe or Intercom, secrets, configuration),
    listed with its own backup method and when it was last verified: declared, never restored."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="unique among stores and declared "
                      "stores")
    type: DeclaredType = Field(description="queue, saas, secrets, config or other")
    backup_method: str = Field(min_length=1, description='how it is backed up, e.g. "Stripe keeps the data; daily '
                               'export to s3://exports/stripe"')
    last_verified: date = Field(description="when its backup was last verified by hand (YYYY-MM-DD)")
    covers: list[str] = Field(default_factory=list, description=COVERS_HELP)
    owner: str | None = OWNER
    escalation: str | None = ESCALATION
    data_type: str | None = DATA_TYPE
    estimated_size: str | None = ESTIMATED_SIZE
