"""The inventory settings of an s3 store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from verifiers.setting_types import StrictModel
from verifiers.store_settings import StoreSettings


class S3CopyRestore(StrictModel):
    """A real restore of an s3 store: server-side copy into a uniquely named scratch prefix, deleted after."""

    prefix: str = Field(default="restoreproof-scratch/", min_length=1, pattern=r"/$",
                        description="scratch prefix (ending in /) under which a per-run prefix is made")
    bucket: str | None = Field(default=None, min_length=3, max_length=63, description="default: the source's")


class S3Store(StoreSettings):
    """An S3 bucket (or prefix) compared with a captured manifest of its keys, sizes and sha256 digests."""

    DEFAULT_SUITE: ClassVar[str] = "s3"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"s3-bucket", "aws-backup"})
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "an s3 store"
    kind: Literal["s3"]
    sample: int = Field(default=10, ge=1, le=1000, description="key names listed per missing/extra/changed check")
    restore: S3CopyRestore | None = Field(default=None, description="copy into a scratch prefix and verify the copy")


SETTINGS = (S3Store,)
