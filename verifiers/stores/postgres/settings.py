"""The inventory settings of a postgres store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from verifiers.compliance.settings import RestoredSupport
from verifiers.setting_types import Seconds, StrictModel
from verifiers.store_settings import StoreSettings, TableFilter
from verifiers.stores.sampling import SampleSettings

BACKUP_TIME = "{backup_time}"
RESTORE_TIME = "{restore_time}"  # a point-in-time restore's moment, bound (never formatted) by live.py


class LiveReference(StrictModel):
    """The live database as the reference for a backup that has no manifest (an automated RDS snapshot, a dump
    another tool takes): row counts within a tolerance, checksums over rows that cannot have changed since the
    backup, schema exact (verifiers/stores/postgres/live.py). A manifest beside the backup still wins."""

    dsn_env: str = Field(min_length=1, description="env variable holding the live database's libpq DSN (a read "
                         "replica is best); it is read in read-only transactions, one table at a time")
    row_count_tolerance: float = Field(default=0.05, ge=0.0, le=1.0, description="allowed relative difference "
                                       "of each table's row count from the live one's (0.05 = 5%)")
    stable: dict[str, str] = Field(default_factory=dict, description='"schema.table" = SQL condition selecting rows '
                                   "that cannot change after the backup, {backup_time} standing for its creation "
                                   "time (e.g. \"created_at < {backup_time}\"), or {restore_time} the moment of a "
                                   "point-in-time restore (restore_to); those rows are checksummed on both sides, "
                                   "other tables are only counted")

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


class PostgresStore(StoreSettings):
    DEFAULT_SUITE: ClassVar[str] = "rds"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"rds-snapshot", "cloudsql-backup", "aws-backup"})
    RDS_ENGINES: ClassVar[tuple[str, ...]] = ("postgres", "aurora-postgresql")
    # judged in the sandbox by verifiers/stores/postgres/compliance.py
    COMPLIANCE: ClassVar[RestoredSupport] = RestoredSupport(frozenset({"canary", "gdpr", "migrate"}))
    kind: Literal["postgres"]
    tables: TableFilter = TableFilter()
    row_count_tolerance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="allowed relative difference of row counts (0.01 = 1%)"
    )
    jobs: int | None = Field(default=None, ge=1, le=64, description="pg_restore -j; default: CPU cores")
    restore_sections: bool = Field(default=True, description="restore an archive in three pg_restore runs "
                                   "(--section pre-data, data, post-data), timing restore_schema, restore_data and "
                                   "restore_indexes exactly; false: in one run, those steps not measured (one -j "
                                   "run overlaps index builds with loading rows and, with wal_level=minimal, loads "
                                   "each table without WAL: on large dumps it can be ~10-15% faster)")
    live: LiveReference | None = Field(default=None, description="compare with the live database when the backup "
                                       "has no manifest")
    self_test: bool = Field(default=False, description="after the checks pass, prove they can fail: remove a row, "
                            "change a value and drop an index in the restored database (each rolled back) and "
                            "judge again; a change not detected fails the store")
    amcheck: bool = Field(default=False, description="check every B-tree index of the restored database with "
                          "amcheck (bt_index_check, heapallindexed): worth it on rds-snapshot sources, whose pages "
                          "are production's; a dump's restore builds its indexes afresh")
    amcheck_budget: Seconds = Field(default=600.0, description="time amcheck may take; indexes left unchecked make "
                                    "the check `not compared`, never a pass")
    sample: SampleSettings | None = Field(default=None, description="very large tables: the checksum over the key "
                                          "ranges changed since the previous manifest and a random share of the "
                                          "rest, with the chance of detecting a change stated (default: every row)")


SETTINGS = (PostgresStore,)
