"""What a PostgreSQL database holds, as facts: per table rows, checksum and schema; database-level objects;
sequences. The same model is captured into a manifest at backup time and measured after a restore."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers.stores.hash_ranges import HashSegments
from verifiers.stores.key_ranges import KeyRanges


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableFacts(_Facts):
    rows: int = Field(ge=0)
    checksum: str = Field(pattern=r"^[0-9a-f]{16}$")
    method: Literal["columns", "record", "text"] = Field(description="the row hash the checksum used (see rowhash.py)")
    key_ranges: KeyRanges | None = Field(default=None, description="per key range, captured for narrowing")
    key_hashes: HashSegments | None = Field(default=None, description="per key-hash segment, captured for narrowing "
                                            "a table without a single-column integer key")
    schema_: dict[str, str] = Field(alias="schema",
                                    description="object (column/index/constraint/trigger) -> definition")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def schema_sha256(self) -> str:
        return fingerprint(self.schema_)


class SequenceFacts(_Facts):
    last_value: int
    is_called: bool
    increment: int
    feeds: list[str] = Field(default_factory=list,
                             description="schema.table.column it is owned by or is the default of")
    column_max: int | None = Field(default=None, description="largest value in those columns, in the snapshot")

    @property
    def next_value(self) -> int:
        """What nextval() would return: the quantity that must never go back or fall behind the data."""
        return self.last_value + self.increment if self.is_called else self.last_value


class DatabaseFacts(_Facts):
    tables: dict[str, TableFacts]
    objects: dict[str, str] = Field(description="views, functions, types, sequences, extensions -> definition")
    sequences: dict[str, SequenceFacts]
    server_version: str
    encoding: str


def fingerprint(definitions: dict[str, str]) -> str:
    canonical = json.dumps(definitions, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
