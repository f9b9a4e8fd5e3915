"""The inventory settings of a mongo store."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from verifiers.setting_types import Seconds, StrictModel
from verifiers.store_settings import (
    DockerSandbox,
    ExternalSandbox,
    LocalSandbox,
    StoreSettings,
    TableFilter,
    sandbox_shorthand,
)

MongoServerKind = Literal["mongod", "mongoeco"]
SERVER_HELP = ("which server a local sandbox runs: mongod (MongoDB itself), or mongoeco, a MongoDB wire-protocol "
               "server written in Python that is not MongoDB (its own virtualenv, Python >= 3.13: `make mongoeco`; "
               "its interpreter in bin_dir/python or RESTOREPROOF_MONGOECO_PYTHON), chosen here and never as a "
               "fallback for a missing mongod")


class MongoLocalSandbox(LocalSandbox):
    """A local server process for a mongo store: mongod, or, when asked for, mongoeco."""

    server: MongoServerKind = Field(default="mongod", description=SERVER_HELP)


MongoSandbox = Annotated[MongoLocalSandbox | DockerSandbox | ExternalSandbox, Field(discriminator="type"),
                         BeforeValidator(sandbox_shorthand)]


class MongoFilter(StrictModel):
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


class MongoStore(StoreSettings):
    """MongoDB: a mongodump archive (gzip or not) or --out directory, and the manifest `capture mongo` wrote."""

    DEFAULT_SUITE: ClassVar[str] = "mongo"
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "a mongo store; use `filters`"
    kind: Literal["mongo"]
    sandbox: MongoSandbox = Field(default=MongoLocalSandbox(), description='where it is restored: "local", '
                                  '"docker", "external", or a table with its `type` (a table without one is local '
                                  'settings; `server = "mongoeco"` picks the wire-protocol server)')
    collections: TableFilter = Field(default_factory=TableFilter, description="globs over database.collection")
    filters: list[MongoFilter] = Field(default_factory=list, description="document counts a query must meet")
    validate_collections: bool = Field(default=False, description="run MongoDB's `validate` on every restored "
                                       "collection: a collection it finds invalid fails the store")
    validate_full: bool = Field(default=False, description="`validate` with full: true (slower: checks every "
                                "document and index entry against the storage engine)")
    validate_budget: Seconds = Field(default=600.0, description="time validate may take (looked at between "
                                     "collections); collections left unchecked make the check `not compared`")

    @model_validator(mode="after")
    def _mongo_settings(self) -> MongoStore:
        if self.sandbox.type == "external" and not self.sandbox.dsn.get_secret_value().startswith(
                ("mongodb://", "mongodb+srv://")):
            raise ValueError("an external sandbox of a mongo store needs a mongodb:// or mongodb+srv:// URI in `dsn` "
                             "(or `url`)")
        names = [f.name for f in self.filters]
        if len(set(names)) != len(names):
            raise ValueError("`filters` uses the same name twice")
        return self


SETTINGS = (MongoStore,)
