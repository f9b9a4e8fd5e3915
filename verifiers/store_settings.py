"""What every store in the inventory has, whatever its kind: where its backup is (the source types), where it is
restored (the sandbox types), its RTO and RPO, custom SQL assertions, and the compliance tables. Each kind's own
settings subclass `StoreSettings` in its package (verifiers/stores/<kind>/settings.py); verifiers/inventory.py
joins them, from the registry, into the inventory's model."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AwareDatetime, BeforeValidator, Field, SecretStr, model_validator

from verifiers.compliance.settings import (
    CanarySettings,
    GdprSettings,
    HygieneSettings,
    MigrateSettings,
    RestoredSupport,
    misfit,
)
from verifiers.discovery.settings import COVERS_HELP, DATA_TYPE, ESCALATION, ESTIMATED_SIZE, OWNER
from verifiers.inventory_cloud import (
    AzureBlobSource,
    AzureContainerSource,
    CloudSqlBackupSource,
    GcsBucketSource,
    GcsSource,
)
from verifiers.point_in_time import parse_restore_to
from verifiers.setting_types import MANIFEST_TOLERANCE, MANIFEST_TOLERANCE_HELP, Cidr, Seconds, StrictModel
from verifiers.sources.s3_versions import parse_as_of

STORE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class FileSource(StrictModel):
    """A backup on the local disk; `path` may be a glob, the newest match (by modification time) wins."""

    type: Literal["file"]
    path: str = Field(min_length=1)
    manifest: str | None = Field(
        default=None, description="manifest path; default: the artifact's stem + .manifest.json"
    )


class AwsSettings(StrictModel):
    """Where the AWS APIs are: region, profile and role come from the standard AWS config chain (env, profile,
    instance role); `endpoint_url` (else env AWS_ENDPOINT_URL) points them elsewhere, e.g. at moto's server."""

    region: str | None = Field(default=None, description="AWS region; default: the AWS config chain's")
    endpoint_url: str | None = Field(default=None, description="AWS API endpoint; default: env AWS_ENDPOINT_URL")


class S3Source(AwsSettings):
    """A backup in S3: the newest object under `prefix` whose key (relative to the prefix) matches `pattern`."""

    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the key after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest key; default: the artifact's key with .manifest.json for its suffix"
    )


RdsSnapshotKind = Literal["automated", "manual", "aws-backup"]


class RdsRestoreSettings(AwsSettings):
    """How a temporary RDS instance (or Aurora cluster) is placed, reached and logged in to, and how long its
    restore may take: the same for a snapshot, a point in time and an AWS Backup recovery point."""

    instance_class: str | None = Field(default=None, description="DB instance class of the temporary instance")
    subnet_group: str | None = None
    security_groups: list[str] = Field(default_factory=list, description="VPC security group ids")
    runner_security_group: str | None = Field(
        default=None, pattern=r"^sg-[0-9a-f]+$", description="security group of the runner that connects to the "
        "temporary instance: its security groups must accept the DB port from it (checked before the restore)")
    runner_cidr: Cidr | None = Field(
        default=None, description="address range the runner connects from (e.g. 10.0.8.0/24), checked like "
        "runner_security_group")
    reachability: Literal["fail", "warn", "off"] = Field(
        default="fail", description="what a runner that cannot reach the temporary instance does: fail before the "
        "restore, warn and go on, or skip the checks")
    credentials: Literal["reset", "iam", "environment"] | None = Field(
        default=None, description="how the harness logs in: reset the master password to a random one held in "
        "memory, IAM database authentication, or the environment (PGPASSWORD, MYSQL_PWD, ~/.pgpass, ~/.my.cnf); "
        "default: environment with endpoint_override, else reset")
    iam_user: str | None = Field(default=None, min_length=1, description="database user for credentials = \"iam\", "
                                 "required with it (granted rds_iam / AWSAuthenticationPlugin in production; the "
                                 "`restoreproof init --iac aws` role allows rds-db:connect as its IamDatabaseUser "
                                 "parameter only, default restoreproof)")
    database: str | None = Field(default=None, min_length=1, description="database to verify on the instance; "
                                 "default: postgres (postgres stores), the manifest's database (mysql stores)")
    endpoint_override: str | None = Field(
        default=None, description="DSN to measure instead of the restored instance's endpoint (libpq for postgres, "
        "mysql://… for mysql)")
    restore_timeout: Seconds | None = Field(default=None, description="default: the store's restore_timeout")

    @model_validator(mode="after")
    def _iam_names_its_user(self) -> RdsRestoreSettings:
        # No default: the master user is rarely an IAM database user, and the role the template writes may connect
        # as one user only, so a default would mint a token the database refuses.
        if self.credentials == "iam" and self.iam_user is None:
            raise ValueError(
                'credentials = "iam" needs `iam_user`: the database user to log in as (an IAM database user in '
                "production: PostgreSQL GRANT rds_iam, MySQL IDENTIFIED WITH AWSAuthenticationPlugin), the one the "
                "role may rds-db:connect as (the template of `restoreproof init --iac aws`: its IamDatabaseUser "
                'parameter, default "restoreproof")')
        return self


class RdsSnapshotSource(RdsRestoreSettings):
    """An RDS instance or Aurora cluster snapshot, restored into a tagged temporary instance (or cluster plus
    instance) that is deleted afterwards."""

    type: Literal["rds-snapshot"]
    instance: str | None = Field(default=None, description="DB instance identifier whose snapshots to use")
    cluster: str | None = Field(default=None, description="Aurora DB cluster identifier whose snapshots to use")
    snapshot: str = Field(default="latest", min_length=1, description='"latest" or a snapshot identifier/ARN')
    include: Annotated[list[RdsSnapshotKind], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = Field(
        default_factory=lambda: list[RdsSnapshotKind](["automated", "manual"]), min_length=1,
        description="snapshot types to choose from")
    manifest: str | None = Field(default=None, description="manifest path (relative to the inventory) or s3:// URL")
    manifest_tolerance: Seconds = Field(default=MANIFEST_TOLERANCE, description=MANIFEST_TOLERANCE_HELP)
    restore_to: str | None = Field(
        default=None, description='point-in-time restore of the instance or cluster: "latest", "random" (a time '
        "within the restore window) or an ISO 8601 time with a zone; verified against the live database. Unset: "
        "restore the snapshot")
    restore_seed: int | None = Field(default=None, description='restore_to = "random": the seed of a reproducible '
                                     "pick")

    @model_validator(mode="after")
    def _one_origin(self) -> RdsSnapshotSource:
        if (self.instance is None) == (self.cluster is None):
            raise ValueError("set exactly one of `instance` (RDS) or `cluster` (Aurora)")
        if self.cluster is not None and self.instance_class is None:
            raise ValueError("an Aurora `cluster` snapshot needs `instance_class` for its temporary DB instance")
        return self

    @model_validator(mode="after")
    def _point_in_time(self) -> RdsSnapshotSource:
        if self.restore_to is None:
            if self.restore_seed is not None:
                raise ValueError('restore_seed applies only to restore_to = "random"')
            return self
        if parse_restore_to(self.restore_to) != "random" and self.restore_seed is not None:
            raise ValueError('restore_seed applies only to restore_to = "random"')
        if self.snapshot != "latest":
            raise ValueError("restore_to restores the instance's own backups to a point in time: remove `snapshot` "
                             "(or remove restore_to to restore that snapshot)")
        if self.manifest is not None:
            raise ValueError("a point-in-time restore is compared with the live database (the store's `live`), "
                             "not with a manifest captured at another moment: remove `manifest`")
        return self


AwsBackupResourceType = Literal["RDS", "Aurora", "DynamoDB", "S3"]


class AwsBackupSource(RdsRestoreSettings):
    """A recovery point in an AWS Backup vault (of an RDS instance, Aurora cluster, DynamoDB table or S3 bucket):
    the newest COMPLETED one of the protected resource, or one by ARN. When the run was started for an AWS Backup
    restore-testing job (`verify --aws-backup-restore-job`), the resource that job restored is verified instead,
    and the verdict is reported back to AWS Backup (docs/aws-backup.md)."""

    type: Literal["aws-backup"]
    vault: str = Field(min_length=2, max_length=50, pattern=r"^[a-zA-Z0-9\-\_]{2,50}$",
                       description="the backup vault whose recovery points to use")
    resource_arn: str | None = Field(default=None, min_length=1, description="ARN of the protected resource")
    resource_type: AwsBackupResourceType | None = Field(
        default=None, description="with resource_name, instead of resource_arn: the protected resource's type")
    resource_name: str | None = Field(default=None, min_length=1, description="with resource_type: the instance, "
                                      "cluster, table or bucket name")
    recovery_point: str = Field(default="latest", min_length=1, description='"latest" (newest COMPLETED) or a '
                                "recovery point ARN")
    manifest: str | None = Field(default=None, description="manifest path (relative to the inventory) or s3:// URL")
    manifest_tolerance: Seconds = Field(default=MANIFEST_TOLERANCE, description=f"RDS and Aurora recovery points: "
                                        f"{MANIFEST_TOLERANCE_HELP}; the snapshot is the one the point names")
    iam_role_arn: str | None = Field(default=None, description="role AWS Backup assumes for StartRestoreJob (S3 "
                                     "and AWS-Backup-managed DynamoDB recovery points); needs iam:PassRole")

    @model_validator(mode="after")
    def _one_resource(self) -> AwsBackupSource:
        by_name = self.resource_type is not None or self.resource_name is not None
        if (self.resource_arn is None) == (not by_name):
            raise ValueError("set either `resource_arn` or both `resource_type` and `resource_name`")
        if by_name and (self.resource_type is None or self.resource_name is None):
            raise ValueError("`resource_type` and `resource_name` go together")
        return self


class S3BucketSource(AwsSettings):
    """A bucket (or a prefix of one) itself: the copy to verify against the manifest captured from it."""

    type: Literal["s3-bucket"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory) or s3:// URL")
    as_of: str | None = Field(default=None, description='versioned bucket: compare the object versions as of '
                              '"manifest" (its captured_at) or an ISO 8601 time with a zone')
    reference: Literal["manifest", "s3-inventory"] = Field(
        default="manifest", description='"s3-inventory": `manifest` is an S3 Inventory report\'s manifest.json')

    @model_validator(mode="after")
    def _as_of(self) -> S3BucketSource:
        if self.as_of is not None:
            parse_as_of(self.as_of)  # raises ValueError naming the accepted forms
        return self


DynamoDbBackupKind = Literal["user", "system", "aws-backup"]


class DynamoDbBackupSource(AwsSettings):
    """A DynamoDB on-demand (or AWS Backup) backup of `table`, restored into a tagged temporary table."""

    type: Literal["dynamodb-backup"]
    table: str = Field(min_length=3, max_length=255, description="the table whose backups to use")
    backup: str = Field(default="latest", min_length=1,
                        description='"latest", a backup ARN, or "pitr" (point-in-time recovery)')
    include: Annotated[list[DynamoDbBackupKind], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = Field(
        default_factory=lambda: list[DynamoDbBackupKind](["user", "aws-backup"]), min_length=1,
        description="backup types to choose from")
    manifest: str = Field(min_length=1, description="manifest path (relative to the inventory) or s3:// URL")
    restore_time: AwareDatetime | None = Field(
        default=None, description='backup = "pitr": the moment to restore to (default: the latest restorable)')

    @model_validator(mode="after")
    def _restore_time_needs_pitr(self) -> DynamoDbBackupSource:
        if self.restore_time is not None and self.backup != "pitr":
            raise ValueError('restore_time applies only to backup = "pitr"')
        return self


# every source type's model, written once: the inventory's union (by `type`), and what sources/registry.py takes
AnySource = (FileSource | S3Source | RdsSnapshotSource | S3BucketSource | DynamoDbBackupSource | GcsSource
             | AzureBlobSource | GcsBucketSource | AzureContainerSource | CloudSqlBackupSource
             | AwsBackupSource)
Source = Annotated[AnySource, Field(discriminator="type")]


VersionMatch = Literal["nearest", "exact"]
SandboxMode = Literal["fast", "production-like"]
VERSION_MATCH_HELP = ("the sandbox's engine: the source's own release where one is installed (PostgreSQL's major; "
                      "MySQL/MariaDB's flavour and major.minor; for Redis/Valkey the flavour and major.minor that "
                      "wrote the RDB), else the nearest newer, said in the `engine` check (nearest); or the source's "
                      "own only, failing clearly when it is missing (exact)")
MODE_HELP = ("fast: durability off for verification (PostgreSQL: fsync, synchronous_commit, full_page_writes off, "
             "minimal WAL; MySQL/MariaDB: no log flush per commit, no doublewrite, no binary log; Redis/Valkey: no "
             "save schedule); production-like: the engine's durable defaults, for an RTO like a real recovery's")


class _SandboxBase(StrictModel):
    version_match: VersionMatch = Field(default="nearest", description=VERSION_MATCH_HELP)


class LocalSandbox(_SandboxBase):
    """A server process started for this store from local binaries, torn down afterwards."""

    type: Literal["local"] = "local"
    mode: SandboxMode = Field(default="fast", description=MODE_HELP)
    bin_dir: str | None = Field(default=None, description="directory with the server binaries to use first")
    user: str | None = Field(default=None, description="OS user the server runs as when the harness is root")
    start_timeout: Seconds = 60.0


class DockerSandbox(_SandboxBase):
    """A container started for this store through testcontainers, removed afterwards (verifiers/sandboxes/docker.py)."""

    type: Literal["docker"]
    mode: SandboxMode = Field(default="fast", description=MODE_HELP)
    image: str | None = Field(default=None, min_length=1, description="image[:tag]; default: the official image "
                              "of the server version the manifest recorded (postgres:<major>, redis:<x.y>, ...)")
    bin_dir: str | None = Field(default=None, description="directory with the client tools (pg_restore, mysql) to use")
    user: str | None = Field(default=None, description="OS user local client tools run as when the harness is root")
    start_timeout: Seconds = 120.0


class ExternalSandbox(_SandboxBase):
    """A server the user provides (e.g. a CI service container): the harness creates its own scratch database
    there, restores into it, and drops it afterwards (verifiers/sandboxes/external.py)."""

    type: Literal["external"]
    dsn: SecretStr = Field(min_length=1, description="admin connection: libpq DSN/URL (postgres) or mysql://… (mysql, "
                     "whose database is only connected to) or redis://…, rediss://…, unix://… (redis, an empty "
                     "server) or mongodb://…, mongodb+srv://… (mongo); the name `url` is accepted too")
    allow_external: bool = Field(default=False, description="explicit opt-in to restore into a server the harness "
                                 "did not start (else pass --allow-external-sandbox)")
    bin_dir: str | None = Field(default=None, description="directory with the client tools (pg_restore, mysql) to use")
    user: str | None = Field(default=None, description="OS user local client tools run as when the harness is root")
    start_timeout: Seconds = 60.0

    @model_validator(mode="before")
    @classmethod
    def _url_alias(cls, value: Any) -> Any:
        if isinstance(value, dict) and "url" in value and "dsn" not in value:
            value = {("dsn" if k == "url" else k): v for k, v in value.items()}
        return value


def sandbox_shorthand(value: Any) -> Any:
    if isinstance(value, dict) and "type" not in value:
        return {"type": "local", **value}  # a table of local settings, as before there were other types
    return {"type": value} if isinstance(value, str) else value


Sandbox = Annotated[LocalSandbox | DockerSandbox | ExternalSandbox, Field(discriminator="type"),
                    BeforeValidator(sandbox_shorthand)]


class Assertion(StrictModel):
    """A query returning one value, run read-only in the restored sandbox, with what it must return."""

    name: str = Field(min_length=1)
    sql: str = Field(min_length=1)
    expect: int | float | str | bool | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_expectation(self) -> Assertion:
        if self.expect is None and self.min is None and self.max is None:
            raise ValueError("an assertion needs `expect`, `min` or `max`")
        return self


class TableFilter(StrictModel):
    include: list[str] = Field(default_factory=lambda: ["*"], description="globs over schema.table")
    exclude: list[str] = Field(default_factory=list)


class StoreSettings(StrictModel):
    """What every store kind has; a kind adds its own settings (its `kind` a literal) and its default suite."""

    DEFAULT_SUITE: ClassVar[str] = ""
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset({"file", "s3", "gcs", "azure-blob"})  # a dump file
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset()  # source types beyond files this kind restores
    # a kind whose data is not SQL says what it is and what to use instead of `assertions` (SQL queries):
    # "a redis store; use `keys` expectations"
    NO_SQL_ASSERTIONS: ClassVar[str | None] = None
    # RDS / Aurora engines whose snapshots this kind measures (rds-snapshot sources, stores/aws_snapshot.py)
    RDS_ENGINES: ClassVar[tuple[str, ...]] = ()
    # the restored-data checks (canary, gdpr, migrate) this kind judges in its sandbox: none unless it declares them
    COMPLIANCE: ClassVar[RestoredSupport] = RestoredSupport()
    kind: str
    name: str = Field(pattern=STORE_NAME_PATTERN, description="unique in the inventory; names the store in "
                      "reports, evidence and --store")
    suite: str | None = Field(default=None, description="the suite that verifies it (`pytest suites/<suite>`); "
                              "default: the kind's own (rds for postgres, else the kind's name)")
    rto: Seconds = Field(description="recovery time objective: the measured restore must take at most this")
    rpo: Seconds = Field(description="recovery point objective: the newest backup must be at most this old")
    source: Source = Field(description="where the backup is: a table with its `type`")
    sandbox: Sandbox = Field(default=LocalSandbox(), description='where it is restored: "local", "docker", '
                             '"external", or a table with its `type` (a table without one is local settings)')
    restore_timeout: Seconds = Field(default=3600.0, description="the restore is stopped, and the store errors, "
                                     "after this long")
    assertions: list[Assertion] = Field(default_factory=list, description="SQL stores: queries that must return "
                                        "what they expect in the restored database")
    # compliance checks beyond the restore (verifiers/compliance/): each off unless its table is present
    hygiene: HygieneSettings | None = Field(default=None, description="backup hygiene: RPO gaps, PITR lag, "
                                            "encryption, copies, retention, backup job success (docs/compliance.md)")
    gdpr: GdprSettings | None = Field(default=None, description="erased subjects stay erased after a restore")
    canary: CanarySettings | None = Field(default=None, description="a canary written to production is in the "
                                          "backup, proving its age")
    migrate: MigrateSettings | None = Field(default=None, description="the application's migrations run on the "
                                            "restored database")
    covers: list[str] = Field(default_factory=list, description=COVERS_HELP)
    owner: str | None = OWNER
    escalation: str | None = ESCALATION
    data_type: str | None = DATA_TYPE
    estimated_size: str | None = ESTIMATED_SIZE

    @property
    def suite_name(self) -> str:
        return self.suite or self.DEFAULT_SUITE

    @model_validator(mode="after")
    def _source_fits_kind(self) -> StoreSettings:
        allowed = sorted(self.FILE_SOURCES | self.SERVICE_SOURCES)
        if self.source.type not in allowed:
            raise ValueError(f"source type `{self.source.type}` cannot be restored by a "
                             f"{self.kind} store; use {' or '.join(map(repr, allowed))}")
        return self

    @model_validator(mode="after")
    def _assertions_fit_kind(self) -> StoreSettings:
        if self.assertions and self.NO_SQL_ASSERTIONS is not None:
            raise ValueError(f"`assertions` (SQL) do not apply to {self.NO_SQL_ASSERTIONS}")
        return self

    @model_validator(mode="after")
    def _compliance_fits(self) -> StoreSettings:
        problem = misfit(self.kind, self.source.type, self.COMPLIANCE, _declared_compliance(),
                         hygiene=self.hygiene, gdpr=self.gdpr, canary=self.canary, migrate=self.migrate,
                         store=self.name, source_region=getattr(self.source, "region", None))
        if problem:
            raise ValueError(problem)
        return self


def _declared_compliance() -> dict[str, RestoredSupport]:
    """Each kind's COMPLIANCE, from the kinds' models imported so far (all of them once an inventory is read,
    which builds its union from the registry): an error names the kinds that do support a check, sorted
    (compliance/settings.py misfit). Read from the subclasses because this module is below the registry of kinds
    (verifiers/stores/registry.py), which imports it."""
    found: dict[str, RestoredSupport] = {}
    pending: list[type[StoreSettings]] = [StoreSettings]
    while pending:
        model = pending.pop(0)
        pending += model.__subclasses__()
        named = get_args(model.model_fields["kind"].annotation)  # kind: Literal["<kind>"] in a kind's model
        if len(named) == 1 and isinstance(named[0], str):
            found.setdefault(named[0], model.COMPLIANCE)
    return found


AnyStore = StoreSettings  # any kind's settings; narrowed with isinstance to the kind's own model
