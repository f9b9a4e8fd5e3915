"""The inventory settings of a mysql store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from verifiers.compliance.settings import RestoredSupport
from verifiers.setting_types import LiveReference, Seconds
from verifiers.store_settings import StoreSettings, TableFilter


class MysqlStore(StoreSettings):
    """MySQL, MariaDB, Aurora/RDS MySQL: a mysqldump / mariadb-dump SQL file (.sql, .sql.gz) and its manifest, or
    an RDS MySQL / MariaDB or Aurora MySQL snapshot (`rds-snapshot`) with the manifest captured when it was taken, or
    (`live`) compared with the live database: an automated snapshot, a point-in-time restore."""

    DEFAULT_SUITE: ClassVar[str] = "mysql"
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"rds-snapshot", "cloudsql-backup", "aws-backup"})
    # "aurora" is Aurora MySQL 5.6 (before aurora-mysql); RDS for MariaDB restores into the same MariaDB/MySQL
    # measurement as a dump does
    RDS_ENGINES: ClassVar[tuple[str, ...]] = ("mysql", "aurora-mysql", "aurora", "mariadb")
    # judged in the sandbox by verifiers/stores/mysql/compliance.py
    COMPLIANCE: ClassVar[RestoredSupport] = RestoredSupport(frozenset({"canary", "gdpr"}))
    kind: Literal["mysql"]
    tables: TableFilter = Field(default_factory=TableFilter, description="globs over database.table")
    row_count_tolerance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="allowed relative difference of row counts (0.01 = 1%)"
    )
    self_test: bool = Field(default=False, description="after the checks pass, prove they can fail: remove a row "
                            "and change a value in the restored database (each rolled back; InnoDB tables without "
                            "triggers) and judge again; a change not detected fails the store")
    check_table: bool = Field(default=False, description="run CHECK TABLE on every restored table: worth it on "
                              "rds-snapshot sources, whose pages are production's; a dump's restore writes its "
                              "tables afresh")
    check_table_budget: Seconds = Field(default=600.0, description="time CHECK TABLE may take (looked at between "
                                        "tables); tables left unchecked make the check `not compared`")
    live: LiveReference | None = Field(default=None, description="compare with the live database when the snapshot "
                                       "has no manifest, and always for a point-in-time restore (restore_to)")


SETTINGS = (MysqlStore,)
