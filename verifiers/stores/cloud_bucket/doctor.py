"""The gcs and azure-blob kinds' part of `restoreproof doctor`: a bucket or container is compared where it is,
so nothing local is needed beyond the cloud's extra; the source's credentials are checked by the command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifiers.diagnosis import Finding, KindServers


@dataclass(frozen=True)
class CloudBucketDoctor:
    extra: str
    service: str

    def servers(self) -> KindServers:
        return KindServers(notes=(f"no local server needed: the copy is read where it is, in {self.service}",))

    def sandbox(self, store: Any, artifact: Path | None) -> list[Finding]:
        return []


DOCTORS = {"gcs": CloudBucketDoctor("gcp", "Cloud Storage"), "azure-blob": CloudBucketDoctor("azure", "Blob Storage")}
