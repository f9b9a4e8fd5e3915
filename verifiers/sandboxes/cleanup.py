"""The deletions of what a cloud restore created, registered as it is created and run on every exit: after an
error, a deletion error is logged and never hides the error that ended the run; after success it propagates.
Used by every cloud sandbox that creates resources one by one (an RDS instance and its cluster, a DynamoDB table,
an S3 bucket or scratch prefix)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from verifiers.errors import SandboxError


@contextlib.contextmanager
def cleanup_stack(log: logging.Logger, store: str, what: str) -> Iterator[contextlib.ExitStack]:
    """An ExitStack for the deletions (`callback` each one before creating its resource). A SandboxError from them
    after an earlier error is logged on `log` as "store STORE: deleting WHAT failed after an earlier error"."""
    with contextlib.ExitStack() as cleanup:
        failing = True
        try:
            yield cleanup
            failing = False
        finally:
            if failing:
                try:
                    cleanup.close()
                except SandboxError:
                    log.exception("store %s: deleting %s failed after an earlier error", store, what)
