"""Canaries: proof the backup came from the right database and is as fresh as it claims. `restoreproof canary
write` inserts a row (SQL stores, into an opt-in table) or a key (key-value stores) carrying a random token and
the server's time into the LIVE store, through the kind's CanaryWriter (its package's compliance.py), and appends
{token, written_at} to the store's canary log. Verification takes the newest canary written before the backup's
time and asserts the restored data holds its token.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from verifiers.checks import CheckResult
from verifiers.compliance.settings import CanarySettings
from verifiers.errors import InventoryError, SourceError

SUBJECT = "canary"


@dataclass(frozen=True)
class Canary:
    token: str
    written_at: datetime

    def record(self, store: str) -> dict[str, str]:
        return {"store": store, "token": self.token, "written_at": self.written_at.astimezone(UTC).isoformat()}


def log_path(settings: CanarySettings, *, base_dir: Path, store: str) -> Path:
    name = settings.log or f"canary-{store}.jsonl"
    return Path(name) if Path(name).is_absolute() else base_dir / name


def read_log(path: Path, *, store: str) -> list[Canary]:
    """The canaries written for `store` (a missing log is an empty one: none written yet)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SourceError(f"store {store}: canary log {path} cannot be read: {exc.strerror}",
                          hint="fix stores.canary.log (relative to the inventory) or its permissions") from None
    found = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            canary = Canary(str(row["token"]), datetime.fromisoformat(str(row["written_at"])))
        except (ValueError, KeyError, TypeError):
            raise InventoryError(f"store {store}: canary log {path} line {n} is not a canary record",
                                 hint="the log is written by `restoreproof canary write`; remove the damaged "
                                 "line") from None
        if row.get("store", store) == store:
            found.append(canary)
    return found


def newest_before(canaries: Sequence[Canary], moment: datetime) -> Canary | None:
    older = [c for c in canaries if c.written_at < moment]
    return max(older, key=lambda c: c.written_at) if older else None


def append_log(path: Path, canary: Canary, *, store: str) -> None:
    """One JSON line, flushed to disk: the log is the reference verification trusts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(canary.record(store)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def new_token(store: str) -> str:
    return f"{store}-{secrets.token_hex(8)}"


def judge(expected: Canary | None, present: Callable[[str], bool], newest_restored: datetime | None,
          *, backup_time: datetime, log: Path) -> CheckResult:
    """`present(token)`: the restored data holds this canary; `newest_restored`: its newest canary's time."""
    shown = newest_restored.astimezone(UTC).isoformat() if newest_restored else "none"
    if expected is None:
        return CheckResult("canary", SUBJECT, False, f"newest restored canary: {shown}",
                           "a canary older than the backup",
                           f"no canary in {log} was written before this backup ({backup_time.isoformat()}): run "
                           "`restoreproof canary write` before each backup")
    stamp = expected.written_at.astimezone(UTC).isoformat()
    if present(expected.token):
        return CheckResult("canary", SUBJECT, True, expected.token, expected.token,
                           f"the newest canary written before the backup ({stamp}) is in the restored data")
    return CheckResult("canary", SUBJECT, False, f"newest restored canary: {shown}", expected.token,
                       f"the canary written at {stamp}, before the backup was taken, is NOT in the restored data "
                       "(newest canary there: " + shown + "): the backup is older than it claims or comes from "
                       "another database")
