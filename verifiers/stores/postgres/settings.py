"""The inventory settings of a postgres store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from verifiers.compliance.settings import RestoredSupport
from verifiers.setting_types import BACKUP_TIME, RESTORE_TIME, LiveReference, Seconds
from verifiers.store_settings import StoreSettings, TableFilter
from verifiers.stores.sampling import SampleSettings


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
__all__ = ["BACKUP_TIME", "RESTORE_TIME", "SETTINGS", "LiveReference", "PostgresStore"]
