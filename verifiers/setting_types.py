"""What the settings models of the inventory and the alert channels share: their base (`StrictModel`) and field
types (pydantic; kept out of durations.py, which `restoreproof --help` imports without pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from verifiers.durations import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


DURATION = BeforeValidator(_duration)
Seconds = Annotated[float, DURATION]  # seconds, or text such as 90s, 15m, 4h, 30d, 1h30m, PT4H


class StrictModel(BaseModel):
    """A settings table: unknown keys are errors (a typo is named, not ignored), and settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _cidr(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an address range such as 10.0.8.0/24") from None


Cidr = Annotated[str, AfterValidator(_cidr)]  # an IPv4/IPv6 network, normalised (10.0.8.7/24 -> 10.0.8.0/24)


BACKUP_TIME = "{backup_time}"  # the backup's creation time in a live.stable condition, bound (never formatted)
RESTORE_TIME = "{restore_time}"  # a point-in-time restore's moment, bound (never formatted) by the kind's live.py


class LiveReference(StrictModel):
    """The live database as the reference for a backup that has no manifest (an automated RDS snapshot, a dump
    another tool takes): row counts within a tolerance, checksums over rows that cannot have changed since the
    backup, schema exact (verifiers/stores/postgres/live.py, verifiers/stores/mysql/live.py). A manifest beside the
    backup still wins."""

    dsn_env: str = Field(min_length=1, description="env variable holding the live database's DSN (postgres: a "
                         "libpq DSN; mysql: mysql://USER:PASSWORD@HOST:PORT/DATABASE); a read replica is best; it "
                         "is read in read-only transactions, one table at a time")
    row_count_tolerance: float = Field(default=0.05, ge=0.0, le=1.0, description="allowed relative difference "
                                       "of each table's row count from the live one's (0.05 = 5%)")
    stable: dict[str, str] = Field(default_factory=dict, description='"schema.table" (mysql: "database.table") = SQL '
                                   "condition selecting rows that cannot change after the backup, {backup_time} "
                                   "standing for its creation time (e.g. \"created_at < {backup_time}\"), or "
                                   "{restore_time} the moment of a point-in-time restore (restore_to); those rows are "
                                   "checksummed on both sides, other tables are only counted")

    @field_validator("stable")
    @classmethod
    def _qualified(cls, value: dict[str, str]) -> dict[str, str]:
        for table, condition in value.items():
            if "." not in table:
                raise ValueError(f"{table!r}: name the table as schema.table (mysql: database.table), e.g. "
                                 f"public.{table}")
            if not condition.strip():
                raise ValueError(f"{table}: the condition is empty; leave the table out to only count it")
            if ";" in condition:
                raise ValueError(f"{table}: a condition is one SQL expression, without ';'")
        return value


MANIFEST_TOLERANCE = 3600.0  # `manifest_tolerance`'s default, on each source that pairs a manifest with its snapshot
MANIFEST_TOLERANCE_HELP = (
    "`manifest` a folder or s3:// prefix of many manifests: the one recording the snapshot's id, else the newest "
    "captured at most this long before the snapshot's creation (a single file is checked alike)")
