"""What every kind's self-test shares (issue 21: each run proves its checks can fail): the check's name, the
verdict on one change (detected when a check that must notice it failed), and the answer when the store's own
checks already failed. Each kind's `self_test.py` makes its changes in the restored sandbox and undoes them."""

from __future__ import annotations

from collections.abc import Iterable

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec

CHECK = "self_test"


def verdict(subject: str, change: str, judged: list[CheckResult], *, undone: str = "rolled back") -> CheckResult:
    """`change` (made, then `undone`) against the checks judged on the changed data: detected when one failed."""
    noticed = [c.check for c in judged if not c.passed]
    if noticed:
        return CheckResult(CHECK, subject, True, f"detected by {', '.join(noticed)}", "detected",
                           f"{change} ({undone}): {' and '.join(noticed)} failed, as they must")
    return CheckResult(CHECK, subject, False, "not detected", "detected",
                       f"{change} ({undone}), yet {', '.join(c.check for c in judged)} still passed: these checks "
                       "cannot fail on this store")


def nothing_to_prove(specs: Iterable[CheckSpec]) -> list[CheckResult]:
    """The self-test's checks when the store's own checks did not all pass."""
    return [checks.not_compared(CHECK, s.subject, None, "the store's own checks did not all pass: there is "
                                "nothing to prove") for s in specs]
