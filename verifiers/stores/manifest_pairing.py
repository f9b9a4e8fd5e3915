"""The `manifest` check of a snapshot or backup paired with its manifest at locate time
(verifiers/sources/manifest_pairing.py), shared by the stores restored by a cloud service (aws_snapshot.py,
cloudsql_backup.py)."""

from __future__ import annotations

from verifiers.checks import CheckResult
from verifiers.sources import Located
from verifiers.sources.manifest_pairing import DETAILS_KEY, Pairing


def pairing_of(located: Located) -> Pairing | None:
    """How the snapshot was paired with a manifest at locate time (None: the source names no manifest)."""
    raw = located.details.get(DETAILS_KEY)
    return Pairing.from_json(raw) if raw else None


def manifest_check(pairing: Pairing) -> CheckResult:
    """The snapshot and the manifest it was paired with (both named), or why none matches."""
    matched = pairing.matched
    observed = None if matched is None else {"manifest": matched.location, "captured_at": matched.captured_at,
                                             "snapshot_id": matched.snapshot_id, "paired_by": pairing.how}
    expected = {"snapshot_id": pairing.snapshot_id, "snapshot_created": pairing.snapshot_created,
                "manifest_tolerance_seconds": pairing.tolerance}
    return CheckResult("manifest", pairing.snapshot_id, pairing.paired, observed, expected, pairing.message())
