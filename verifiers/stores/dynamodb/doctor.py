"""The dynamodb kind's part of `restoreproof doctor`: DynamoDB restores the backup into a temporary table, so
nothing local is needed beyond the aws extra; the source's credentials are checked by the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verifiers.diagnosis import Finding, KindServers


class DynamoDbDoctor:
    extra = "aws"

    def servers(self) -> KindServers:
        return KindServers(notes=("no local server needed: DynamoDB restores into a temporary table",))

    def sandbox(self, store: Any, artifact: Path | None) -> list[Finding]:
        return []


DOCTORS = {"dynamodb": DynamoDbDoctor()}
