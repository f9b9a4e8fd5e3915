"""A bucket's listing against its captured manifest, for any object store (S3, GCS, Azure Blob): missing,
extra and changed objects, counted and sampled by name (never by content). A changed object is one whose size
differs, or, only when the sizes agree, whose content's sha256 does (read through `sha256_of`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from verifiers.checks import CheckResult, CheckSpec

KINDS = ("missing", "changed", "extra")


class _Facts(Protocol):
    @property
    def bytes(self) -> int: ...

    @property
    def sha256(self) -> str: ...


def comparison_specs(location: str) -> list[CheckSpec]:
    return [CheckSpec("object_count", location), *(CheckSpec("objects", k) for k in KINDS)]


def changed_names(expected: Mapping[str, _Facts], listing: Mapping[str, Mapping[str, object]],
                  sha256_of: Callable[[str], str]) -> list[str]:
    """Names on both sides whose size differs, or whose content's sha256 does (only then is it read)."""
    changed = []
    for name in sorted(set(expected) & set(listing)):
        want = expected[name]
        if listing[name]["bytes"] != want.bytes or sha256_of(name) != want.sha256:
            changed.append(name)
    return changed


def comparison_checks(expected: Mapping[str, object], listing: Mapping[str, Mapping[str, object]],
                      changed: list[str], location: str, sample: int) -> list[CheckResult]:
    """The object_count check and one `objects` check per kind of difference."""
    missing = sorted(set(expected) - set(listing))
    extra = sorted(set(listing) - set(expected))
    checks = [CheckResult("object_count", location, len(listing) == len(expected), len(listing), len(expected),
                          f"{len(listing)} objects, {len(expected)} captured")]
    for kind, names in zip(KINDS, (missing, changed, extra), strict=True):
        checks.append(objects_check(kind, names, location, sample))
    return checks


def objects_check(kind: str, names: list[str], location: str, sample: int) -> CheckResult:
    if not names:
        return CheckResult("objects", kind, True, 0, 0, f"no {kind} objects under {location}")
    shown = ", ".join(names[:sample]) + (f" … and {len(names) - sample} more" if len(names) > sample else "")
    return CheckResult("objects", kind, False, len(names), 0, f"{len(names)} {kind} under {location}: {shown}")
