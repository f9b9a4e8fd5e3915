"""Our own exception types: each carries what failed, where, and what to do next."""

from __future__ import annotations


class RestoreproofError(Exception):
    """Base of every error the harness reports to a user as a one-line message (never a traceback)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class InventoryError(RestoreproofError):
    """The inventory file is missing, is not TOML, or does not validate."""


class EmptyInventoryError(InventoryError):
    """The inventory file lists no store yet (the starter `restoreproof init` writes, every example commented)."""


class SourceError(RestoreproofError):
    """A backup artifact (or its manifest) could not be found or read."""


class ManifestError(RestoreproofError):
    """A manifest is missing, unreadable, or of an unknown schema version."""


class SandboxError(RestoreproofError):
    """A sandbox server could not be provisioned, became unready, or could not be torn down."""


class ArtifactFormatError(RestoreproofError):
    """An artifact is not in a format the store can restore (wrong type, truncated header, too new)."""


class CaptureError(RestoreproofError):
    """Capturing a backup and its manifest from a live store failed."""


class NoSuitableServerError(SandboxError):
    """No installed server (or client tool) is new enough for the artifact or the live server."""


class EvidenceError(RestoreproofError):
    """Run evidence cannot be written, read, signed or archived (a bad path, key or archive URL)."""


class RestoreTimeoutError(RestoreproofError):
    """The restore did not finish within restore_timeout: the run could not finish the store (an `error` in
    the restore phase, with the restore check recorded as not passed), rather than a verdict on the backup."""
