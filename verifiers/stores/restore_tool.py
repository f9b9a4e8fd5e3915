"""What a restore tool (pg_restore, mysql, mongorestore or its pymongo stand-in) did, and the `restore` check
judged from it: one definition for every store kind that restores with a tool."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifiers.checks import CheckResult

SHOWN_ERROR_LINES = 50  # more would bury the summary; the count of the rest is given


@dataclass
class RestoreOutcome:
    """What the restore did: exit code (None when it was stopped), the error lines (redacted by the store's
    restore module), whether it timed out."""

    tool: str
    exit_code: int | None = 0
    error_lines: list[str] = field(default_factory=list)
    timed_out: bool = False
    timeout_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error_lines and not self.timed_out


def restore_check(outcome: RestoreOutcome, artifact_name: str) -> CheckResult:
    observed = "timed out" if outcome.timed_out else f"exit {outcome.exit_code}, {len(outcome.error_lines)} errors"
    if outcome.timed_out:
        message = (f"{outcome.tool} did not finish {artifact_name} within restore_timeout "
                   f"({outcome.timeout_seconds:.0f}s)")
    elif outcome.ok:
        message = f"{outcome.tool} restored {artifact_name}: exit 0, no errors"
    else:
        message = (f"{outcome.tool} on {artifact_name} exited {outcome.exit_code}:\n"
                   + "\n".join(outcome.error_lines[:SHOWN_ERROR_LINES]))
        if len(outcome.error_lines) > SHOWN_ERROR_LINES:
            message += f"\n… and {len(outcome.error_lines) - SHOWN_ERROR_LINES} more lines"
    return CheckResult("restore", "restore", outcome.ok, observed, "exit 0, no errors", message)
