"""What a MySQL / MariaDB database holds, as facts: per table rows, checksum and schema; database-level
objects (views, routines, events); AUTO_INCREMENT counters. The same model is captured into a manifest at
backup time and measured after a restore."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from verifiers.stores.hash_ranges import HashSegments
from verifiers.stores.key_ranges import KeyRanges


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableFacts(_Facts):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    rows: int = Field(ge=0)
    checksum: str = Field(pattern=r"^[0-9a-f]{16}$")
    key_ranges: KeyRanges | None = Field(default=None, description="per key range, captured for narrowing")
    key_hashes: HashSegments | None = Field(default=None, description="per key-hash segment, captured for narrowing "
                                            "a table without a single-column integer key")
    schema_: dict[str, str] = Field(alias="schema",
                                    description="object (table/column/index/constraint/trigger) -> definition")


class AutoIncrementFacts(_Facts):
    """A table's AUTO_INCREMENT counter and the column it feeds; satisfies checks.SequenceState."""

    next_value: int = Field(description="the value the next insert would get (information_schema AUTO_INCREMENT)")
    increment: int = 1
    feeds: list[str] = Field(description="database.table.column")
    column_max: int | None = Field(default=None, description="largest value in that column, in the snapshot")


class DatabaseFacts(_Facts):
    tables: dict[str, TableFacts]
    objects: dict[str, str] = Field(description="the database, views, routines, events -> definition")
    auto_increments: dict[str, AutoIncrementFacts]
    server_version: str
    flavour: str = Field(pattern=r"^(mariadb|mysql)$")
    charset: str = Field(description="the database's default character set")
    collation: str = Field(description="the database's default collation")
