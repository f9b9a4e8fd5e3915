"""Pairing a snapshot or backup with its manifest, the rules alone (no cloud SDK: the rds-snapshot and aws-backup
sources list S3 in sources/snapshot_manifests.py, the cloudsql-backup source reads gs:// files in
sources/cloudsql_backup.py).

The snapshot's manifest is the one that records its identifier (`capture --snapshot-id`), else the newest one
captured at or before the snapshot's creation time and at most `manifest_tolerance` before it, among those that
record no snapshot (a manifest recording another snapshot never pairs by time). No match, or two equally good
ones, is a failed `manifest` check naming the snapshot, the closest candidates and the tolerance.

Only the manifest's `captured_at` and `snapshot_id` are read here (this layer knows no store kind); the kind reads
the chosen file whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifiers.durations import format_duration
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX

DETAILS_KEY = "manifest_pairing"  # Located.details key holding the pairing, as JSON
CLOSEST = 3  # candidates named when none matches


@dataclass(frozen=True)
class Candidate:
    """One manifest file: where it is (path or s3:// URL), the local copy, and what it records."""

    location: str
    path: str
    captured_at: str | None  # ISO 8601; None when the file is not a readable manifest
    snapshot_id: str | None
    problem: str | None = None

    @property
    def captured(self) -> datetime:
        assert self.captured_at is not None
        return datetime.fromisoformat(self.captured_at)

    def describe(self, created: datetime | None = None) -> str:
        if self.problem:
            return f"{self.location} ({self.problem})"
        offset = ""
        if created is not None:
            delta = (created - self.captured).total_seconds()
            offset = (f", {format_duration(abs(delta))} {'before' if delta >= 0 else 'after'} the snapshot"
                      if delta else ", at the snapshot's creation")
        return (f"{self.location} (captured {self.captured_at}{offset}, snapshot id "
                f"{self.snapshot_id or 'not recorded'})")


@dataclass(frozen=True)
class Pairing:
    """How the snapshot was paired with a manifest: `matched` (by `how`), or why none was, with the closest."""

    snapshot_id: str
    snapshot_created: str
    tolerance: float
    matched: Candidate | None
    how: str  # "snapshot id" | "capture time" | "" (no match)
    reason: str
    candidates: tuple[Candidate, ...]

    @property
    def paired(self) -> bool:
        return self.matched is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Pairing:
        raw: dict[str, Any] = json.loads(text)
        matched = Candidate(**raw["matched"]) if raw["matched"] else None
        return cls(**{**raw, "matched": matched, "candidates": tuple(Candidate(**c) for c in raw["candidates"])})

    def message(self) -> str:
        snapshot = f"snapshot {self.snapshot_id} (created {self.snapshot_created})"
        created = datetime.fromisoformat(self.snapshot_created)
        if self.matched is not None:
            return f"{snapshot} paired by {self.how} with manifest {self.matched.describe(created)}"
        closest = sorted(self.candidates, key=lambda c: _distance(c, created))[:CLOSEST]
        named = "; ".join(c.describe(created) for c in closest) or "none"
        return (f"no manifest matches {snapshot}: {self.reason} (manifest_tolerance {format_duration(self.tolerance)}"
                f"); closest: {named}")


def _distance(candidate: Candidate, created: datetime) -> float:
    if candidate.captured_at is None:
        return float("inf")
    return abs((created - candidate.captured).total_seconds())


def pair(candidates: list[Candidate], *, snapshot_id: str, snapshot_arn: str, created: datetime,
         tolerance: float) -> Pairing:
    """The manifest of the snapshot among `candidates` (pure: the rules of the module's docstring)."""
    readable = [c for c in candidates if c.problem is None]

    def result(matched: Candidate | None, how: str, reason: str = "") -> Pairing:
        return Pairing(snapshot_id, created.astimezone(UTC).isoformat(), tolerance, matched, how, reason,
                       tuple(candidates))

    by_id = [c for c in readable if c.snapshot_id and c.snapshot_id in (snapshot_id, snapshot_arn)]
    if len(by_id) > 1:
        return result(None, "", f"{len(by_id)} manifests record this snapshot "
                      f"({', '.join(c.location for c in by_id)}): keep one")
    if by_id:
        return result(by_id[0], "snapshot id")
    timed = [c for c in readable if not c.snapshot_id and c.captured <= created
             and (created - c.captured).total_seconds() <= tolerance]
    if timed:
        newest = max(c.captured for c in timed)
        best = [c for c in timed if c.captured == newest]
        if len(best) > 1:
            return result(None, "", f"{len(best)} manifests were captured at {best[0].captured_at} "
                          f"({', '.join(c.location for c in best)}): keep one, or record the snapshot id")
        return result(best[0], "capture time")
    if not candidates:
        return result(None, "", "the manifest location holds no *.manifest.json")
    return result(None, "", "none records this snapshot's id, and none that records no snapshot was captured "
                  "at or before its creation within the tolerance")


def local_candidates(path: Path, *, store: str) -> list[Candidate]:
    """The manifests at a local file or folder."""
    if path.is_dir():
        return [read_candidate(str(p), p) for p in sorted(path.glob(f"*{MANIFEST_SUFFIX}"))]
    if not path.exists():
        raise SourceError(f"store {store}: manifest {path} (stores.source.manifest) does not exist",
                          hint="point it at a manifest, or at the folder `restoreproof capture --out` writes to")
    return [read_candidate(str(path), path)]


def read_candidate(location: str, path: Path) -> Candidate:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        captured = datetime.fromisoformat(str(raw["captured_at"]))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return Candidate(location, str(path), None, None, f"not a readable manifest: {type(exc).__name__}")
    if captured.tzinfo is None:
        return Candidate(location, str(path), None, None, "captured_at has no zone")
    snapshot = raw.get("snapshot_id")
    return Candidate(location, str(path), captured.astimezone(UTC).isoformat(),
                     str(snapshot) if snapshot else None)
