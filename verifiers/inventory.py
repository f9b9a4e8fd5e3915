"""The inventory file: which stores exist, where their backups are, and what they must meet.

Validated with pydantic; every error names the file, the field path and the fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from verifiers.durations import parse_duration
from verifiers.errors import InventoryError

Seconds = Annotated[float, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str) else v)]
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


Source = Annotated[FileSource, Field(discriminator="type")]


class LocalSandbox(_Model):
    """A server process started for this store from local binaries, torn down afterwards."""

    type: Literal["local"] = "local"
    bin_dir: str | None = Field(default=None, description="directory with the server binaries to use first")
    user: str | None = Field(default=None, description="OS user the server runs as when the harness is root")
    start_timeout: Seconds = 60.0


def _sandbox_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


Sandbox = Annotated[LocalSandbox, BeforeValidator(_sandbox_shorthand)]


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
    name: str = Field(pattern=STORE_NAME_PATTERN)
    suite: str | None = None
    rto: Seconds
    rpo: Seconds
    source: Source
    sandbox: Sandbox = LocalSandbox()
    restore_timeout: Seconds = 3600.0
    assertions: list[Assertion] = Field(default_factory=list)

    @property
    def suite_name(self) -> str:
        return self.suite or self.DEFAULT_SUITE


class PostgresStore(_StoreBase):
    DEFAULT_SUITE: ClassVar[str] = "rds"
    kind: Literal["postgres"]
    tables: TableFilter = TableFilter()
    row_count_tolerance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="allowed relative difference of row counts (0.01 = 1%)"
    )
    jobs: int | None = Field(default=None, ge=1, le=64, description="pg_restore -j; default: CPU cores")


# Every store kind's model; a new kind adds its class here and to `Store`.
AnyStore = PostgresStore
Store = Annotated[PostgresStore, Field(discriminator="kind")]


class Inventory(_Model):
    stores: list[Store]
    base_dir: Path = Field(default=Path("."), exclude=True)
    path: Path = Field(default=Path("inventory.toml"), exclude=True)

    @model_validator(mode="after")
    def _names_unique(self) -> Inventory:
        seen: set[str] = set()
        for store in self.stores:
            if store.name in seen:
                raise ValueError(f"store name {store.name!r} is used twice; names must be unique")
            seen.add(store.name)
        return self

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


def parse_inventory(raw: dict[str, Any], path: Path) -> Inventory:
    try:
        inventory = Inventory.model_validate({**raw, "base_dir": path.parent, "path": path})
    except ValidationError as exc:
        lines = [f"{path}: {_where(err, raw)}: {_explain(err)}" for err in exc.errors()]
        raise InventoryError("\n".join(lines)) from None
    return inventory


def _where(err: Any, raw: Any) -> str:
    where = field_path(err["loc"], raw)
    if err["type"] == "union_tag_invalid":
        where += "." + str(err["ctx"]["discriminator"]).strip("'")
    return where


def field_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """`stores[0].source.path` from a pydantic location, dropping union tags that are not in the data."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            parts.append(f"[{key}]")
            node = node[key]
        elif isinstance(node, dict) and key in node:
            parts.append(f".{key}")
            node = node[key]
        elif isinstance(node, dict) and isinstance(key, str) and key not in _TAGS:
            parts.append(f".{key}")  # a missing field: name it, there is nothing below it
            node = None
    text = "".join(parts).lstrip(".")
    return text or "(top level)"


_TAGS = {"postgres", "file", "local", "function-after", "function-before"}


def _explain(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against the README's inventory reference"
    if kind == "union_tag_invalid":
        ctx = err["ctx"]
        return f"unsupported value {ctx['tag']!r}; use one of {ctx['expected_tags']}"
    if kind == "literal_error":
        return f"unsupported value {err.get('input')!r}; use one of {err['ctx']['expected']}"
    if kind == "union_tag_not_found":
        return f"missing `{err.get('ctx', {}).get('discriminator', 'type')}`; say which kind this is"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")
