"""The optional inventory tables of the compliance checks. Each is off unless present in a store's entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from verifiers.compliance.configuration_policy import CONFIGURATION_SOURCES, ConfigurationPolicy
from verifiers.setting_types import Seconds, StrictModel

SUBJECT_PLACEHOLDER = "{subject}"


class CopySettings(StrictModel):
    """Where the second copy of the backups lives: another region (RDS snapshot copies), or a replica bucket;
    in another account when `role_arn` names a role there to assume (read-only is enough)."""

    region: str = Field(min_length=1, description="the region holding the copies; not the source's own without "
                        "`role_arn` (its backups there are the source's own, no copy)")
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
                                 description="a role in the account holding the copies, assumed to look")
    bucket: str | None = Field(default=None, min_length=3, max_length=63,
                               description="s3 sources: the replica bucket (same prefix and pattern)")
    endpoint_url: str | None = None


class BackupJobSettings(StrictModel):
    """AWS Backup jobs over the last `days`: the share that completed must reach `target` percent."""

    days: int = Field(default=30, ge=1, le=30, description="the last this many days (at most 30: AWS Backup lists "
                      "the jobs of the last 30 days)")
    target: float = Field(default=99.9, gt=0, le=100, description="percent of finished jobs that completed")
    vault: str | None = Field(default=None, description="only jobs of this backup vault")
    resource_arn: str | None = Field(default=None, description="only jobs of this resource (default: all)")
    region: str | None = None
    endpoint_url: str | None = None


BackupHistory = Literal["aws-backup", "rds-automated", "dynamodb-pitr"]


class SuccessRateSettings(StrictModel):
    """The share of the backups scheduled over the last `days` whole days (UTC) that completed, read from the
    provider's own history (verifiers/compliance/success_rate.py): AWS Backup jobs of the resource, RDS / Aurora
    automated snapshots, DynamoDB continuous backups (PITR); the days without a completed backup are named."""

    days: int = Field(default=30, ge=1, le=366, description="the period: this many whole days (UTC) before today "
                      "(at most 30 with history aws-backup: AWS Backup lists the jobs of the last 30 days)")
    target: float = Field(default=99.9, gt=0, le=100, description="percent of scheduled backups that completed")
    schedule: Literal["daily", "weekly"] = Field(default="daily", description="one backup expected per day, or per "
                                                 "7 days counted back from yesterday")
    since: date | None = Field(default=None, description="the first day a backup was scheduled (e.g. when the backup "
                               "plan began): earlier days are not counted")
    history: list[BackupHistory] | None = Field(
        default=None, min_length=1, description="the histories to read, each judged apart; default by source: "
        "aws-backup -> aws-backup, rds-snapshot -> rds-automated, dynamodb-backup -> dynamodb-pitr")
    resource_arn: str | None = Field(default=None, min_length=1, description="aws-backup history: the protected "
                                     "resource (default: an aws-backup source's; of an rds-snapshot, "
                                     "dynamodb-backup, s3 or s3-bucket source, its instance's, cluster's, table's "
                                     "or bucket's ARN, read from AWS)")
    vault: str | None = Field(default=None, description="aws-backup history: only jobs of this backup vault")
    region: str | None = Field(default=None, description="aws-backup history: AWS Backup's region (default: the "
                               "source's)")
    endpoint_url: str | None = Field(default=None, description="aws-backup history: AWS Backup's API endpoint")


class HygieneSettings(StrictModel):
    """[stores.hygiene]: checks of how the backups are kept, read from the backup service's APIs (no restore)."""

    rpo_gap: bool = Field(default=True, description="largest gap between recovery points over `window` vs rpo")
    window: Seconds = Field(default=30 * 86400.0, description="how far back recovery points are considered")
    pitr: bool = Field(default=False, description="lag of the latest restorable time (RDS, Aurora, DynamoDB) vs rpo")
    encryption: bool = Field(default=False, description="the newest backup is encrypted at rest")
    kms_key: str | None = Field(default=None, description="and with this KMS key (id, ARN or alias ARN)")
    copy_: CopySettings | None = Field(default=None, alias="copy", description="a copy in a second region")
    require_manual: bool = Field(default=False,
                                 description="RDS: a manual or AWS Backup snapshot exists, not automated ones only")
    retention_days: int | None = Field(default=None, ge=1, le=36500, description="backups are kept this long")
    buckets: list[str] | None = Field(default=None, description="S3 buckets holding backups (default: an s3 "
                                      "source's bucket): versioning, default encryption, public access blocked")
    backup_jobs: BackupJobSettings | None = None
    success_rate: SuccessRateSettings | None = Field(default=None, description="backup success rate over the "
                                                     "scheduled days, from the provider's history")
    configuration: ConfigurationPolicy | None = Field(default=None, description="record the backup configuration "
                                                      "(docs/configuration-evidence.md) and judge it by these rules, "
                                                      "over the inventory's [policy]")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


DEFAULT_HISTORY: dict[str, BackupHistory] = {"aws-backup": "aws-backup", "rds-snapshot": "rds-automated",
                                              "dynamodb-backup": "dynamodb-pitr"}
# sources whose resource's ARN is derived (verifiers/compliance/resource_arns.py), so aws-backup needs no resource_arn
ARN_SOURCES = ("rds-snapshot", "dynamodb-backup", "s3", "s3-bucket")
# ListBackupJobs "returns a list of existing backup jobs for an authenticated account for the last 30 days"
JOBS_LISTED_DAYS = 30
HISTORY_SOURCES: dict[BackupHistory, tuple[str, ...]] = {"rds-automated": ("rds-snapshot",),
                                                         "dynamodb-pitr": ("dynamodb-backup",)}


def histories(source_type: str, settings: SuccessRateSettings) -> list[BackupHistory]:
    """The histories a store's success rate is read from: the configured ones, or its source's."""
    if settings.history is not None:
        return list(dict.fromkeys(settings.history))
    default = DEFAULT_HISTORY.get(source_type)
    return [default] if default else []


def success_rate_misfit(source_type: str, settings: SuccessRateSettings) -> str | None:
    found = histories(source_type, settings)
    if not found:
        return (f"hygiene.success_rate of a {source_type} source needs `history` (e.g. [\"aws-backup\"] with "
                "`resource_arn`): only AWS Backup, RDS and DynamoDB keep a backup history to read")
    for history in found:
        sources = HISTORY_SOURCES.get(history)
        if sources and source_type not in sources:
            return f"hygiene.success_rate history {history} applies to {', '.join(sources)} sources, not {source_type}"
    if "aws-backup" in found and settings.days > JOBS_LISTED_DAYS:
        return (f"hygiene.success_rate days = {settings.days} with history aws-backup: AWS Backup lists the jobs of "
                f"the last {JOBS_LISTED_DAYS} days only (ListBackupJobs), so the older days cannot be read; set days "
                f"to {JOBS_LISTED_DAYS} or less (or read a longer history: rds-automated, dynamodb-pitr)")
    if "aws-backup" in found and source_type not in ("aws-backup", *ARN_SOURCES) and settings.resource_arn is None:
        return (f"hygiene.success_rate history aws-backup of a {source_type} source needs `resource_arn`: the "
                "protected resource whose AWS Backup jobs to read (derived only for "
                f"{', '.join(ARN_SOURCES)} sources)")
    return None


class SqlPlace(StrictModel):
    """Where a subject lives in a SQL store: rows of `table` whose `column` holds the subject id."""

    SHAPE: ClassVar[str] = "{ table = \"schema.table\", column = \"...\" }"  # how it is written, for errors
    table: str = Field(min_length=1, description="schema.table (postgres) or table")
    column: str = Field(min_length=1)


class KeyPlace(StrictModel):
    """Where a subject lives in Redis: keys matching `pattern` with {subject} replaced by the subject id."""

    SHAPE: ClassVar[str] = "{ pattern = \"user:{subject}\", db = 0 }"
    pattern: str = Field(min_length=1)
    db: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _has_placeholder(self) -> KeyPlace:
        if SUBJECT_PLACEHOLDER not in self.pattern:
            raise ValueError(f"a key pattern needs {SUBJECT_PLACEHOLDER} where the subject id goes, "
                             "e.g. \"user:{subject}\" or \"profile:{subject}:*\"")
        return self


class LedgerTable(StrictModel):
    """An erasure ledger kept as a table in a live database, read-only; its DSN comes from an env variable."""

    dsn_env: str = Field(min_length=1, description="env variable holding the libpq DSN of the ledger's database")
    table: str = Field(min_length=1, description="schema.table")
    subject_column: str = "subject_id"
    erased_at_column: str = "erased_at"


def _place_kind(value: object) -> str:
    return "key-place" if isinstance(value, dict) and "pattern" in value else "table-place"


# Tagged by shape, so that an error names the field (`places[0].column`), not the union member.
Place = Annotated[Annotated[SqlPlace, Tag("table-place")] | Annotated[KeyPlace, Tag("key-place")],
                  Discriminator(_place_kind)]
PLACE_TAGS = frozenset({"table-place", "key-place"})


class GdprSettings(StrictModel):
    """[stores.gdpr]: the erasure ledger and the places a subject lives in this store."""

    ledger: str | None = Field(default=None, description="CSV or JSONL file (subject_id, erased_at), relative to "
                               "the inventory")
    ledger_table: LedgerTable | None = None
    places: list[Place] = Field(min_length=1)
    erase_sql: list[str] = Field(default_factory=list, description="statements erasing one subject, run in the "
                                 "sandbox with %(subject)s bound; then every place is checked again")
    salt_env: str = Field(default="RESTOREPROOF_GDPR_SALT",
                          description="env variable with the salt for hashing subject ids in reports")

    @model_validator(mode="after")
    def _one_ledger(self) -> GdprSettings:
        if (self.ledger is None) == (self.ledger_table is None):
            raise ValueError("set exactly one of `ledger` (a CSV/JSONL file) or `ledger_table`")
        return self


class CanarySettings(StrictModel):
    """[stores.canary]: `restoreproof canary write` puts a timestamped canary into the live store and appends it
    to `log`; verification wants the newest canary written before the backup in the restored data."""

    table: str = Field(default="restoreproof_canary", min_length=1,
                       description="postgres: schema.table, mysql: table (in the dumped database) of the opt-in "
                       "canary table")
    key_prefix: str = Field(default="restoreproof:canary:", min_length=1, description="redis: the canary keys")
    db: int = Field(default=0, ge=0, description="redis: the logical db")
    log: str | None = Field(default=None, description="JSONL log of written canaries, relative to the inventory; "
                            "default: canary-<store>.jsonl beside it")


class MigrateSettings(StrictModel):
    """[stores.migrate]: the team's migration command, run against the restored sandbox."""

    command: list[str] = Field(min_length=1, description='argv, e.g. ["alembic", "upgrade", "head"]')
    cwd: str | None = Field(default=None, description="working directory, relative to the inventory")
    env_var: str = Field(default="DATABASE_URL", min_length=1, description="env variable that receives the "
                         "sandbox's connection URL")
    timeout: Seconds = 900.0


RESTORED_CHECKS = ("canary", "gdpr", "migrate")  # judged in a kind's sandbox (attach.judge_restored)
_POINT_SOURCES = ("file", "s3", "rds-snapshot", "dynamodb-backup")


@dataclass(frozen=True)
class RestoredSupport:
    """Which of RESTORED_CHECKS a store kind can judge in its restored sandbox, and how its gdpr places are written:
    declared by the kind's settings model (its COMPLIANCE), carried out by its package's compliance.py."""

    checks: frozenset[str] = frozenset()
    place: type[SqlPlace] | type[KeyPlace] = SqlPlace  # SQL places may also have gdpr.erase_sql replayed

    def __post_init__(self) -> None:
        unknown = sorted(self.checks - set(RESTORED_CHECKS))
        if unknown:
            raise ValueError(f"unknown restored-data checks {unknown}; known: {', '.join(RESTORED_CHECKS)}")


def misfit(kind: str, source_type: str, support: RestoredSupport, kinds: Mapping[str, RestoredSupport], *,
           hygiene: HygieneSettings | None, gdpr: GdprSettings | None, canary: CanarySettings | None,
           migrate: MigrateSettings | None, store: str = "",
           source_region: str | None = None) -> str | None:
    """Why these settings cannot apply to store `store` of this kind and source (in `source_region`, where the
    inventory names it), or None when they can. `support` is the kind's own; `kinds` every known kind's, to name
    those a check does apply to."""
    for name, setting in (("gdpr", gdpr), ("canary", canary), ("migrate", migrate)):
        if setting is None:
            continue
        if name not in support.checks:
            # SQL kinds first, then key-value ones, each by name: the same text whatever order kinds were loaded in
            named = sorted((k for k, s in kinds.items() if name in s.checks),
                           key=lambda k: (kinds[k].place is not SqlPlace, k))
            if not named:
                return f"`{name}` does not apply to {kind} stores"
            return f"`{name}` applies to {' and '.join(named)} stores only, not {kind}"
        if source_type not in ("file", "s3"):
            return f"`{name}` needs a restored dump (file or s3 source); {source_type} sources are not supported yet"
    if gdpr is not None:
        if any(not isinstance(p, support.place) for p in gdpr.places):
            return f"gdpr.places of a {kind} store are written {support.place.SHAPE}"
        if gdpr.erase_sql and support.place is not SqlPlace:
            sql_kinds = ", ".join(sorted(k for k, s in kinds.items() if "gdpr" in s.checks and s.place is SqlPlace))
            return f"gdpr.erase_sql applies to SQL stores ({sql_kinds}), not {kind}"
    return _hygiene_misfit(source_type, hygiene, store, source_region) if hygiene is not None else None


def _hygiene_misfit(source_type: str, hygiene: HygieneSettings, store: str,
                    source_region: str | None) -> str | None:
    rules: list[tuple[bool, tuple[str, ...], str]] = [
        (hygiene.rpo_gap, _POINT_SOURCES, "hygiene.rpo_gap (set rpo_gap = false)"),
        (hygiene.pitr, ("rds-snapshot", "dynamodb-backup"), "hygiene.pitr"),
        (hygiene.encryption or hygiene.kms_key is not None, ("rds-snapshot", "s3", "dynamodb-backup"),
         "hygiene.encryption"),
        (hygiene.copy_ is not None, ("rds-snapshot", "s3"), "hygiene.copy"),
        (hygiene.require_manual, ("rds-snapshot",), "hygiene.require_manual"),
        (hygiene.retention_days is not None, ("rds-snapshot", "s3", "file"), "hygiene.retention_days"),
        (hygiene.configuration is not None, CONFIGURATION_SOURCES, "hygiene.configuration"),
    ]
    for enabled, sources, name in rules:
        if enabled and source_type not in sources:
            return f"{name} applies to {', '.join(sources)} sources, not {source_type}"
    if hygiene.success_rate is not None:
        problem = success_rate_misfit(source_type, hygiene.success_rate)
        if problem:
            return problem
    if hygiene.copy_ is not None and source_type == "s3" and hygiene.copy_.bucket is None:
        return "hygiene.copy of an s3 source needs `bucket`: the replica bucket in that region"
    copy = hygiene.copy_
    if copy is not None and copy.role_arn is None and source_region is not None and copy.region == source_region:
        return (f"store {store}: hygiene.copy.region {copy.region} is the source's own region, and without "
                "role_arn its own account: the backups found there are the source's own, no copy; set region to the "
                "region holding the copies, or role_arn to a role in the account holding them")
    return None
