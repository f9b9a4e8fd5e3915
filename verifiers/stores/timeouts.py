"""The restore exceeding restore_timeout, the same for every store kind: the client (or loading server) is
stopped, the restore check is recorded as not passed, and the store ends as an `error` in the restore phase —
the harness could not finish judging the backup, which says nothing yet about whether it is good."""

from __future__ import annotations

from verifiers.checks import CheckResult
from verifiers.errors import RestoreTimeoutError
from verifiers.stores.base import StoreVerification


def restore_timed_out(result: StoreVerification, check: CheckResult, *, store: str, artifact_name: str, tool: str,
                      seconds: float, check_what: str = "the sandbox server (its log, memory and disk)",
                      ) -> RestoreTimeoutError:
    """Record the failed restore `check` in `result` and return the error to raise inside the restore phase
    (so the runner records phase `restore` and the sandbox context tears the server down)."""
    result.checks.append(check)
    return RestoreTimeoutError(
        f"store {store}: {tool} did not finish restoring {artifact_name} within restore_timeout ({seconds:g}s); "
        "the restore was stopped and the sandbox removed",
        hint=f"if the backup is just large, raise restore_timeout for store {store} in the inventory; otherwise "
             f"check {check_what} and the backup's size",
    )
