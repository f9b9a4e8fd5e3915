"""The s3 kind's part of `restoreproof doctor`: a bucket is compared where it is (or copied within S3), so
nothing local is needed beyond the aws extra; the source's credentials are checked by the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verifiers.diagnosis import Finding, KindServers


class S3Doctor:
    extra = "aws"

    def servers(self) -> KindServers:
        return KindServers(notes=("no local server needed: the bucket is read (or copied) in S3",))

    def sandbox(self, store: Any, artifact: Path | None) -> list[Finding]:
        return []


DOCTORS = {"s3": S3Doctor()}
