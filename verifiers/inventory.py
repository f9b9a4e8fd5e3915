"""The inventory file: which stores exist, where their backups are, and what they must meet.

Validated with pydantic; every error names the file, the field path and the fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from verifiers.compliance.settings import (
    PLACE_TAGS,
    CanarySettings,
    GdprSettings,
    HygieneSettings,
    MigrateSettings,
    misfit,
)
from verifiers.errors import InventoryError
from verifiers.inventory_cloud import (
    AzureBlobSource,
    AzureContainerSource,
    BucketProtection,
    GcsBucketSource,
    GcsSource,
)
from verifiers.setting_types import Seconds

STORE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSource(_Model):
    """A backup on the local disk; `path` may be a glob, the newest match (by modification time) wins."""

    type: Literal["file"]
    path: str = Field(min_length=1)
    manifest: str | None = Field(
        default=None, description="manifest path; default: the artifact's stem + .manifest.json"
    )


class _AwsSettings(_Model):
    """Where the AWS APIs are: region, profile and role come from the standard AWS config chain (env, profile,
    instance role); `endpoint_url` (else env AWS_ENDPOINT_URL) points them elsewhere, e.g. at moto's server."""

    region: str | None = Field(default=None, description="AWS region; default: the AWS config chain's")
    endpoint_url: str | None = Field(default=None, description="AWS API endpoint; default: env AWS_ENDPOINT_URL")


class S3Source(_AwsSettings):
    """A backup in S3: the newest object under `prefix` whose key (relative to the prefix) matches `pattern`."""

    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    pattern: str = Field(default="*", min_length=1, description="glob over the key after `prefix`")
    manifest: str | None = Field(
        default=None, description="manifest key; default: the artifact's key with .manifest.json for its suffix"
    )


RdsSnapshotKind = Literal["automated", "manual", "aws-backup"]


class RdsSnapshotSource(_AwsSettings):
    """An RDS instance or Aurora cluster snapshot, restored into a tagged temporary instance (or cluster plus
    instance) that is deleted afterwards."""

    type: Literal["rds-snapshot"]
    instance: str | None = Field(default=None, description="DB instance identifier whose snapshots to use")
    cluster: str | None = Field(default=None, description="Aurora DB cluster identifier whose snapshots to use")
    snapshot: str = Field(default="latest", min_length=1, description='"latest" or a snapshot identifier/ARN')
    include: Annotated[list[RdsSnapshotKind], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = Field(
        default_factory=lambda: list[RdsSnapshotKind](["automated", "manual"]), min_length=1,
        description="snapshot types to choose from")
    instance_class: str | None = Field(default=None, description="DB instance class of the temporary instance")
    subnet_group: str | None = None
    security_groups: list[str] = Field(default_factory=list, description="VPC security group ids")
    database: str | None = Field(default=None, min_length=1, description="database to verify on the instance; "
                                 "default: postgres (postgres stores), the manifest's database (mysql stores)")
    endpoint_override: str | None = Field(
        default=None, description="DSN to measure instead of the restored instance's endpoint (libpq for postgres, "
        "mysql://… for mysql)")
    manifest: str | None = Field(default=None, description="manifest path (relative to the inventory) or s3:// URL")
    restore_timeout: Seconds | None = Field(default=None, description="default: the store's restore_timeout")

    @model_validator(mode="after")
    def _one_origin(self) -> RdsSnapshotSource:
        if (self.instance is None) == (self.cluster is None):
            raise ValueError("set exactly one of `instance` (RDS) or `cluster` (Aurora)")
        if self.cluster is not None and self.instance_class is None:
            raise ValueError("an Aurora `cluster` snapshot needs `instance_class` for its temporary DB instance")
        return self


class S3BucketSource(_AwsSettings):
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
        from verifiers.sources.s3_versions import parse_as_of

        if self.as_of is not None:
            parse_as_of(self.as_of)  # raises ValueError naming the accepted forms
        return self


DynamoDbBackupKind = Literal["user", "system", "aws-backup"]


class DynamoDbBackupSource(_AwsSettings):
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


Source = Annotated[FileSource | S3Source | RdsSnapshotSource | S3BucketSource | DynamoDbBackupSource
                   | GcsSource | AzureBlobSource | GcsBucketSource | AzureContainerSource,
                   Field(discriminator="type")]


VersionMatch = Literal["nearest", "exact"]
SandboxMode = Literal["fast", "production-like"]
VERSION_MATCH_HELP = ("the sandbox's engine: the source's own release where one is installed (PostgreSQL's major; "
                      "MySQL/MariaDB's flavour and major.minor; for Redis/Valkey the flavour and major.minor that "
                      "wrote the RDB), else the nearest newer, said in the `engine` check (nearest); or the source's "
                      "own only, failing clearly when it is missing (exact)")
MODE_HELP = ("fast: durability off for verification (PostgreSQL: fsync, synchronous_commit, full_page_writes off, "
             "minimal WAL; MySQL/MariaDB: no log flush per commit, no doublewrite, no binary log; Redis/Valkey: no "
             "save schedule); production-like: the engine's durable defaults, for an RTO like a real recovery's")


class _SandboxBase(_Model):
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


def _sandbox_shorthand(value: Any) -> Any:
    if isinstance(value, dict) and "type" not in value:
        return {"type": "local", **value}  # a table of local settings, as before there were other types
    return {"type": value} if isinstance(value, str) else value


Sandbox = Annotated[LocalSandbox | DockerSandbox | ExternalSandbox, Field(discriminator="type"),
                    BeforeValidator(_sandbox_shorthand)]


class Assertion(_Model):
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


class TableFilter(_Model):
    include: list[str] = Field(default_factory=lambda: ["*"], description="globs over schema.table")
    exclude: list[str] = Field(default_factory=list)


class _StoreBase(_Model):
    """What every store kind has; a kind adds its own settings and its default suite."""

    DEFAULT_SUITE: ClassVar[str] = ""
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset({"file", "s3", "gcs", "azure-blob"})  # a dump file
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset()  # source types beyond files this kind restores
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

    @property
    def suite_name(self) -> str:
        return self.suite or self.DEFAULT_SUITE

    @model_validator(mode="after")
    def _source_fits_kind(self) -> _StoreBase:
        allowed = sorted(self.FILE_SOURCES | self.SERVICE_SOURCES)
        if self.source.type not in allowed:
            raise ValueError(f"source type `{self.source.type}` cannot be restored by a "
                             f"{getattr(self, 'kind', 'store')} store; use {' or '.join(map(repr, allowed))}")
        return self

    @model_validator(mode="after")
    def _compliance_fits(self) -> _StoreBase:
        problem = misfit(str(getattr(self, "kind", "")), self.source.type, hygiene=self.hygiene,
                         gdpr=self.gdpr, canary=self.canary, migrate=self.migrate)
        if problem:
            raise ValueError(problem)
        return self


BACKUP_TIME = "{backup_time}"


class LiveReference(_Model):
    """The live database as the reference for a backup that has no manifest (an automated RDS snapshot, a dump
    another tool takes): row counts within a tolerance, checksums over rows that cannot have changed since the
    backup, schema exact (verifiers/stores/postgres/live.py). A manifest beside the backup still wins."""

    dsn_env: str = Field(min_length=1, description="env variable holding the live database's libpq DSN (a read "
                         "replica is best); it is read in read-only transactions, one table at a time")
    row_count_tolerance: float = Field(default=0.05, ge=0.0, le=1.0, description="allowed relative difference "
                                       "of each table's row count from the live one's (0.05 = 5%)")
    stable: dict[str, str] = Field(default_factory=dict, description='"schema.table" = SQL condition selecting rows '
                                   "that cannot change after the backup, {backup_time} standing for its creation "
                                   "time (e.g. \"created_at < {backup_time}\"); those rows are checksummed on both "
                                   "sides, other tables are only counted")

    @field_validator("stable")
    @classmethod
    def _qualified(cls, value: dict[str, str]) -> dict[str, str]:
        for table, condition in value.items():
            if "." not in table:
                raise ValueError(f"{table!r}: name the table as schema.table (e.g. public.{table})")
            if not condition.strip():
                raise ValueError(f"{table}: the condition is empty; leave the table out to only count it")
            if ";" in condition:
                raise ValueError(f"{table}: a condition is one SQL expression, without ';'")
        return value


class PostgresStore(_StoreBase):
    DEFAULT_SUITE: ClassVar[str] = "rds"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"rds-snapshot"})
    kind: Literal["postgres"]
    tables: TableFilter = TableFilter()
    row_count_tolerance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="allowed relative difference of row counts (0.01 = 1%)"
    )
    jobs: int | None = Field(default=None, ge=1, le=64, description="pg_restore -j; default: CPU cores")
    live: LiveReference | None = Field(default=None, description="compare with the live database when the backup "
                                       "has no manifest")


class KeyExpectation(_Model):
    """Keys matching a Redis glob pattern in a logical db, and how many there must be after the restore."""

    pattern: str = Field(min_length=1)
    db: int = Field(default=0, ge=0)
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)

    @property
    def subject(self) -> str:
        return f"db{self.db} {self.pattern}"

    @model_validator(mode="after")
    def _range(self) -> KeyExpectation:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min}); min defaults to 1, set it too")
        return self


class RedisStore(_StoreBase):
    DEFAULT_SUITE: ClassVar[str] = "redis"
    kind: Literal["redis"]
    keys: list[KeyExpectation] = Field(default_factory=list)
    databases: list[int] | None = Field(
        default=None, description="logical dbs to verify (default: every db in the manifest)"
    )

    @model_validator(mode="after")
    def _redis_settings(self) -> RedisStore:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to a redis store; use `keys` expectations")
        subjects = [k.subject for k in self.keys]
        if len(set(subjects)) != len(subjects):
            raise ValueError("`keys` lists the same pattern and db twice")
        return self


class MysqlStore(_StoreBase):
    """MySQL, MariaDB, Aurora/RDS MySQL: a mysqldump / mariadb-dump SQL file (.sql, .sql.gz) and its manifest, or
    an RDS MySQL / MariaDB or Aurora MySQL snapshot (`rds-snapshot`) with the manifest captured when it was taken."""

    DEFAULT_SUITE: ClassVar[str] = "mysql"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"rds-snapshot"})
    kind: Literal["mysql"]
    tables: TableFilter = Field(default_factory=TableFilter, description="globs over database.table")
    row_count_tolerance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="allowed relative difference of row counts (0.01 = 1%)"
    )


# Every store kind's model; a new kind adds its class here and to `Store`.
class S3CopyRestore(_Model):
    """A real restore of an s3 store: server-side copy into a uniquely named scratch prefix, deleted after."""

    prefix: str = Field(default="restoreproof-scratch/", min_length=1, pattern=r"/$",
                        description="scratch prefix (ending in /) under which a per-run prefix is made")
    bucket: str | None = Field(default=None, min_length=3, max_length=63, description="default: the source's")


class S3Store(_StoreBase):
    """An S3 bucket (or prefix) compared with a captured manifest of its keys, sizes and sha256 digests."""

    DEFAULT_SUITE: ClassVar[str] = "s3"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"s3-bucket"})
    kind: Literal["s3"]
    sample: int = Field(default=10, ge=1, le=1000, description="key names listed per missing/extra/changed check")
    restore: S3CopyRestore | None = Field(default=None, description="copy into a scratch prefix and verify the copy")

    @model_validator(mode="after")
    def _no_sql(self) -> S3Store:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to an s3 store")
        return self


class _CloudBucketStore(_StoreBase):
    """A GCS bucket or Azure container compared with a captured manifest (as s3), plus its protection."""

    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    sample: int = Field(default=10, ge=1, le=1000, description="object names listed per missing/extra/changed check")
    protection: BucketProtection = Field(default_factory=BucketProtection)

    @model_validator(mode="after")
    def _no_sql(self) -> _CloudBucketStore:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to a bucket or container store")
        return self


class GcsStore(_CloudBucketStore):
    DEFAULT_SUITE: ClassVar[str] = "gcs"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"gcs-bucket"})
    kind: Literal["gcs"]


class AzureBlobStore(_CloudBucketStore):
    DEFAULT_SUITE: ClassVar[str] = "azure-blob"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"azure-container"})
    kind: Literal["azure-blob"]


class DynamoDbStore(_StoreBase):
    """A DynamoDB backup restored into a temporary table, judged by item count and an order-independent
    checksum of its items against a captured manifest."""

    DEFAULT_SUITE: ClassVar[str] = "dynamodb"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"dynamodb-backup"})
    kind: Literal["dynamodb"]

    @model_validator(mode="after")
    def _no_sql(self) -> DynamoDbStore:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to a dynamodb store")
        return self


class MongoFilter(_Model):
    """A custom assertion on a restored MongoDB: how many documents of a collection match a query filter."""

    name: str = Field(min_length=1)
    collection: str = Field(pattern=r"^[^.$\s]+\.[^$]+$", description="namespace: database.collection")
    filter: dict[str, Any] | str = Field(
        default_factory=dict, description="a query filter: a TOML table, or Extended JSON text")
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)

    def query(self) -> dict[str, Any]:
        if isinstance(self.filter, dict):
            return dict(self.filter)
        from bson import json_util

        parsed = json_util.loads(self.filter)
        return dict(parsed)

    @model_validator(mode="after")
    def _valid(self) -> MongoFilter:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min}); min defaults to 1, set it too")
        if isinstance(self.filter, str):
            try:
                parsed = self.query()
            except ValueError as exc:
                raise ValueError(f"`filter` is not Extended JSON: {exc}") from None
            if not isinstance(parsed, dict):
                raise ValueError("`filter` must be a JSON object, e.g. '{\"status\": \"paid\"}'")
        return self


class MongoStore(_StoreBase):
    """MongoDB: a mongodump archive (gzip or not) or --out directory, and the manifest `capture mongo` wrote."""

    DEFAULT_SUITE: ClassVar[str] = "mongo"
    kind: Literal["mongo"]
    collections: TableFilter = Field(default_factory=TableFilter, description="globs over database.collection")
    filters: list[MongoFilter] = Field(default_factory=list, description="document counts a query must meet")

    @model_validator(mode="after")
    def _mongo_settings(self) -> MongoStore:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to a mongo store; use `filters`")
        if self.sandbox.type == "external" and not self.sandbox.dsn.get_secret_value().startswith(
                ("mongodb://", "mongodb+srv://")):
            raise ValueError("an external sandbox of a mongo store needs a mongodb:// or mongodb+srv:// URI in `dsn` "
                             "(or `url`)")
        names = [f.name for f in self.filters]
        if len(set(names)) != len(names):
            raise ValueError("`filters` uses the same name twice")
        return self


AnyStore = PostgresStore | RedisStore | MysqlStore | S3Store | DynamoDbStore | MongoStore | GcsStore | AzureBlobStore
Store = Annotated[PostgresStore | RedisStore | MysqlStore | S3Store | DynamoDbStore | MongoStore | GcsStore
                  | AzureBlobStore, Field(discriminator="kind")]


class Inventory(_Model):
    stores: list[Store]
    base_dir: Path = Field(default=Path("."), exclude=True)
    path: Path = Field(default=Path("inventory.toml"), exclude=True)

    def select(self, *, suite: str | None = None, names: Sequence[str] = ()) -> list[AnyStore]:
        chosen = [s for s in self.stores if suite is None or s.suite_name == suite]
        if names:
            unknown = sorted(set(names) - {s.name for s in self.stores})
            if unknown:
                raise InventoryError(
                    f"{self.path}: no store named {', '.join(unknown)}",
                    hint=f"known stores: {', '.join(s.name for s in self.stores)}",
                )
            chosen = [s for s in chosen if s.name in names]
        return chosen


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file, raising InventoryError with the field path on any problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(
            f"inventory file {path} does not exist", hint="pass --inventory PATH or create inventory.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"inventory file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}", hint="fix the syntax at that line") from None
    return parse_inventory(raw, path)


_Problem = tuple[tuple[int | str, ...], str, str]  # pydantic-style location, its field path, what is wrong


def parse_inventory(raw: dict[str, Any], path: Path) -> Inventory:
    """Validate an inventory, raising InventoryError with every problem at once, one line each with its field
    path: the stores' field errors and the checks across stores, so one fix-and-rerun round is enough."""
    problems: list[_Problem] = []
    try:
        inventory = Inventory.model_validate({**raw, "base_dir": path.parent, "path": path})
    except ValidationError as exc:
        problems = [(err["loc"], _where(err, raw), _explain(err)) for err in exc.errors()]
    problems += _across_stores(raw)
    if problems:
        problems.sort(key=lambda problem: _store_index(problem[0]))  # stable: pydantic's order within a store
        raise InventoryError("\n".join(f"{path}: {where}: {what}" for _, where, what in problems))
    return inventory


def _across_stores(raw: dict[str, Any]) -> list[_Problem]:
    """Checks that span stores, made on the raw values: pydantic runs a model's own checks only after every
    field validated, which would hide these until the field errors are fixed."""
    stores = raw.get("stores")
    first: dict[str, int] = {}
    problems: list[_Problem] = []
    for index, store in enumerate(stores if isinstance(stores, list) else []):
        name = store.get("name") if isinstance(store, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            loc: tuple[int | str, ...] = ("stores", index, "name")
            problems.append((loc, field_path(loc, raw), f"duplicate store name {name!r} (also stores[{first[name]}]); "
                             "names must be unique"))
        else:
            first[name] = index
    return problems


def _store_index(loc: tuple[int | str, ...]) -> int:
    """The store a problem is in, -1 for one outside the stores."""
    return loc[1] if len(loc) > 1 and loc[0] == "stores" and isinstance(loc[1], int) else -1


def _where(err: Any, raw: Any) -> str:
    where = field_path(err["loc"], raw)
    if err["type"] == "union_tag_invalid":
        where += "." + str(err["ctx"]["discriminator"]).strip("'")
    return where


def field_path(loc: tuple[int | str, ...], raw: Any, *, tags: frozenset[str] = frozenset()) -> str:
    """`stores[0].source.path` from a pydantic location, without the union tags pydantic puts in it: a
    discriminator's value (`postgres` after a store whose kind is postgres), a validator's `function-…`, or
    one of `tags` (the names a callable discriminator gives its members)."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            parts.append(f"[{key}]")
            node = node[key]
        elif isinstance(node, dict) and key in node:
            parts.append(f".{key}")
            node = node[key]
        elif isinstance(node, dict) and isinstance(key, str) and not _is_tag(key, node, tags | _CALLABLE_TAGS):
            parts.append(f".{key}")  # a missing field: name it, there is nothing below it
            node = None
    text = "".join(parts).lstrip(".")
    return text or "(top level)"


def _is_tag(key: str, node: dict[str, Any], tags: frozenset[str]) -> bool:
    return key in tags or key.startswith("function-") or key in {v for v in node.values() if isinstance(v, str)}


_CALLABLE_TAGS = frozenset(PLACE_TAGS)


def _explain(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against docs/inventory.md"
    if kind == "union_tag_invalid":
        ctx = err["ctx"]
        return f"unsupported value {ctx['tag']!r}; use one of {ctx['expected_tags']}"
    if kind == "literal_error":
        return f"unsupported value {err.get('input')!r}; use one of {err['ctx']['expected']}"
    if kind == "union_tag_not_found":
        return f"missing `{err.get('ctx', {}).get('discriminator', 'type')}`; say which kind this is"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")
