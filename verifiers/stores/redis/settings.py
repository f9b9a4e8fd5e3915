"""The inventory settings of a redis store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from verifiers.compliance.settings import KeyPlace, RestoredSupport
from verifiers.setting_types import StrictModel
from verifiers.store_settings import StoreSettings


class KeyExpectation(StrictModel):
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


class RedisStore(StoreSettings):
    DEFAULT_SUITE: ClassVar[str] = "redis"
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "a redis store; use `keys` expectations"
    # judged in the sandbox by verifiers/stores/redis/compliance.py; gdpr places are key patterns
    COMPLIANCE: ClassVar[RestoredSupport] = RestoredSupport(frozenset({"canary", "gdpr"}), place=KeyPlace)
    kind: Literal["redis"]
    keys: list[KeyExpectation] = Field(default_factory=list)
    databases: list[int] | None = Field(
        default=None, description="logical dbs to verify (default: every db in the manifest)"
    )
    self_test: bool = Field(default=False, description="after the checks pass, prove they can fail: remove a key "
                            "and change a value in the restored server (each put back) and judge again; a change "
                            "not detected fails the store")

    @model_validator(mode="after")
    def _redis_settings(self) -> RedisStore:
        subjects = [k.subject for k in self.keys]
        if len(set(subjects)) != len(subjects):
            raise ValueError("`keys` lists the same pattern and db twice")
        return self


SETTINGS = (RedisStore,)
