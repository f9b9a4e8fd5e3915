"""A store's backup configuration as facts (retention, encryption and key, copies, PITR, deletion protection,
whether backups survive the deletion of the instance), judged against the policy, and compared with the one an
earlier month recorded. Pure: configuration_facts.py reads the facts from the provider APIs and the kept files,
configuration_history.py finds the earlier record.

A fact that could not be read is UNKNOWN with the reason (a denied call names the permission): it is recorded as
such, and a rule about it fails saying why, never passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifiers.checks import CheckResult, CheckSpec, not_compared
from verifiers.compliance.configuration_policy import RULES, ConfigurationPolicy

CHECK = "configuration"
RECORDED = "recorded"  # the subject of the one check of a store whose policy judges nothing
UNKNOWN = "unknown"
FactValue = int | float | str | bool | None | tuple[str, ...]

# How each fact is named where people read it, and its unit.
FACT_LABELS: dict[str, tuple[str, str]] = {
    "retention_days": ("retention", " days"), "encrypted": ("encryption", ""), "kms_key": ("KMS key", ""),
    "copy_to": ("copies to", ""), "pitr": ("point-in-time recovery", ""),
    "deletion_protection": ("deletion protection", ""), "survives_deletion": ("survives deletion", ""),
    "kept_backups": ("backups kept", ""),
}


def kms_matches(wanted: str, found: str) -> bool:
    """A key id, key ARN or alias as configured against the id or ARN AWS reports."""
    return bool(found) and (wanted == found or found.endswith("/" + wanted) or wanted.endswith("/" + found))


SAME = "same"  # a copy's account: the source's own
NOT_READ = "not read"  # a copy's region that could not be read (a replica bucket in another account)


@dataclass(frozen=True)
class CopyPlace:
    """Where a copy of the backups is made: its region (NOT_READ: not read) and account (SAME: the source's own),
    and how it was found (`via`, as the copy_to fact records it). Only a place in another region or account than
    the source's is a copy (the readers, configuration_aws.py, leave out the others)."""

    via: str
    region: str
    account: str = SAME

    def as_observed(self) -> dict[str, str]:
        return {"region": self.region, "account": self.account}


@dataclass(frozen=True)
class Fact:
    """One fact of the configuration: its value, how it was read or what it means (`note`), or why it could not
    be read (`unknown`; the value is then UNKNOWN). The copy_to fact also keeps its copies' places (`copies`)."""

    value: FactValue
    note: str | None = None
    unknown: str | None = None
    copies: tuple[CopyPlace, ...] = ()

    @classmethod
    def not_read(cls, why: str) -> Fact:
        return cls(UNKNOWN, unknown=why)

    @classmethod
    def of_copies(cls, copies: Sequence[CopyPlace], note: str | None = None) -> Fact:
        """The copies found, recorded by how each was found."""
        return cls(tuple(c.via for c in copies), note=note, copies=tuple(copies))


@dataclass(frozen=True)
class Change:
    fact: str
    was: Any
    now: Any

    def describe(self) -> str:
        """`retention 35 → 7 days`, `retention 35 days → no expiry`, `encryption on → off`."""
        label, unit = FACT_LABELS.get(self.fact, (self.fact.replace("_", " "), ""))
        if _number(self.was) and _number(self.now):
            return f"{label} {self.was} → {self.now}{unit}"
        return f"{label} {shown_fact(self.fact, self.was)} → {shown_fact(self.fact, self.now)}"


@dataclass(frozen=True)
class Earlier:
    """The configuration an earlier run recorded for the store: its run id, month and facts as recorded."""

    run: str
    month: str
    facts: Mapping[str, Any]


@dataclass(frozen=True)
class Configuration:
    source: str  # the store's source type
    facts: Mapping[str, Fact]

    def recorded(self) -> dict[str, Any]:
        """The facts as evidence records them (lists for tuples), in the order of FACT_LABELS."""
        order = list(FACT_LABELS)
        named = sorted(self.facts.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
        return {name: list(f.value) if isinstance(f.value, tuple) else f.value for name, f in named}

    def as_evidence(self, earlier: Earlier | None) -> dict[str, Any]:
        """The store's `configuration` block of evidence.json; `previous` null: no earlier month recorded one."""
        now = self.recorded()
        previous = None if earlier is None else {
            "run": earlier.run, "month": earlier.month,
            "changes": [{"fact": c.fact, "was": c.was, "now": c.now} for c in changes(earlier.facts, now)]}
        return {"source": self.source, "facts": now,
                "notes": {n: f.note for n, f in self.facts.items() if f.note},
                "unknown": {n: f.unknown for n, f in self.facts.items() if f.unknown},
                "previous": previous}


def shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def shown_fact(fact: str, value: Any) -> str:
    """A fact's value as people read it: with its unit, `no expiry` for a retention nothing limits."""
    if fact == "retention_days" and value is None:
        return "no expiry"
    unit = FACT_LABELS.get(fact, ("", ""))[1]
    return shown(value) + (unit if _number(value) else "")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[Change]:
    """The facts that differ, in the order of `now` then those only `was` has (a fact no longer read is a change
    to UNKNOWN)."""
    found = [Change(name, was.get(name, UNKNOWN), value) for name, value in now.items()
             if name in was and _normal(was[name]) != _normal(value)]
    return found + [Change(name, value, UNKNOWN) for name, value in was.items() if name not in now]


def _normal(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def describe_changes(previous: Mapping[str, Any] | None) -> str:
    """The `previous` block of evidence as one line: what changed since which run, or that nothing did."""
    if previous is None:
        return "no earlier record"
    found = [Change(c["fact"], c["was"], c["now"]) for c in previous.get("changes", [])]
    since = f"since run {previous['run']} ({previous['month']})"
    return f"{since}: " + "; ".join(c.describe() for c in found) if found else f"no change {since}"


def specs(policy: ConfigurationPolicy) -> list[CheckSpec]:
    required = policy.required()
    rules = [rule for rule, _, _ in RULES if rule in required]
    return [CheckSpec(CHECK, rule) for rule in rules] or [CheckSpec(CHECK, RECORDED)]


def judge(policy: ConfigurationPolicy, configuration: Configuration) -> list[CheckResult]:
    """One check per rule the policy sets (see specs): the fact observed against the rule expected."""
    required = policy.required()
    results: list[CheckResult] = []
    for rule, _, sources in RULES:
        if rule not in required:
            continue
        if configuration.source not in sources:
            results.append(not_compared(CHECK, rule, None, f"{rule} does not apply to {configuration.source} "
                                        f"sources (it applies to {', '.join(sources)})"))
            continue
        results.append(_JUDGES[rule](configuration.facts, required[rule]))
    if not results:
        unknown = sorted(n for n, f in configuration.facts.items() if f.unknown)
        results.append(not_compared(CHECK, RECORDED, len(configuration.facts), "recorded, no policy rule to judge it "
                                    "by" + (f"; not read: {', '.join(unknown)}" if unknown else "")))
    return results


def _unknown(rule: str, fact_name: str, fact: Fact, expected: Any) -> CheckResult:
    return CheckResult(CHECK, rule, False, {fact_name: UNKNOWN}, expected, f"not known, so not shown to meet the "
                       f"policy: {fact.unknown}")


def _retention(facts: Mapping[str, Fact], days: Any) -> CheckResult:
    fact, expected = facts["retention_days"], {"min_days": days}
    if fact.unknown:
        return _unknown("retention", "retention_days", fact, expected)
    observed = {"retention_days": fact.value}  # None: the backups do not expire
    if fact.value is None:
        return CheckResult(CHECK, "retention", True, observed, expected,
                           f"backups do not expire ({fact.note or 'no expiry configured'}); at least {days} days "
                           "required")
    assert isinstance(fact.value, int | float)
    passed = fact.value >= days
    return CheckResult(CHECK, "retention", passed, observed, expected,
                       f"retention is {fact.value} days; the policy requires at least {days} days"
                       + ("" if passed else " (TOO SHORT)") + (f" ({fact.note})" if fact.note else ""))


def _encryption(facts: Mapping[str, Fact], wanted: Any) -> CheckResult:
    encrypted, key = facts["encrypted"], facts["kms_key"]
    key_wanted = wanted if isinstance(wanted, str) else None
    expected: dict[str, Any] = {"encrypted": True, **({"kms_key": key_wanted} if key_wanted else {})}
    shown_expected = f"encrypted with {key_wanted}" if key_wanted else "encrypted"
    if encrypted.unknown:
        return _unknown("encryption", "encrypted", encrypted, expected)
    if not encrypted.value:
        return CheckResult(CHECK, "encryption", False, {"encrypted": False}, expected,
                           "backups are NOT encrypted at rest; the policy requires " + shown_expected)
    if key_wanted is None:
        observed = {"encrypted": True, "kms_key": key.value}  # "unknown" when the key was not read
        which = "its key not read" if key.unknown else shown(key.value) if key.value else "the default key"
        return CheckResult(CHECK, "encryption", True, observed, expected,
                           f"encrypted ({which})" if key.unknown else f"encrypted with {which}")
    if key.unknown:
        return _unknown("encryption", "kms_key", key, expected)
    found = str(key.value or "")
    passed = kms_matches(key_wanted, found)
    shown_found = f"encrypted with {found or 'the default key'}"
    return CheckResult(CHECK, "encryption", passed, {"encrypted": True, "kms_key": found or None}, expected,
                       shown_found + ("" if passed else f", not with {key_wanted} as the policy requires"))


Judge = Callable[[Mapping[str, Fact], Any], CheckResult]  # the facts and what the rule requires


def _flag(rule: str, fact_name: str, on: str, off: str) -> Judge:
    def judge_flag(facts: Mapping[str, Fact], _: Any) -> CheckResult:
        fact = facts[fact_name]
        if fact.unknown:
            return _unknown(rule, fact_name, fact, {fact_name: True})
        passed = bool(fact.value)
        note = f" ({fact.note})" if fact.note else ""
        return CheckResult(CHECK, rule, passed, {fact_name: passed}, {fact_name: True},
                           f"{on if passed else off}{note}" + ("" if passed else "; the policy requires it"))
    return judge_flag


COPY_EXPECTED = {"min_copies": 1}  # in another region or account


def _copy(facts: Mapping[str, Fact], _: Any) -> CheckResult:
    fact = facts["copy_to"]
    if fact.unknown:
        return _unknown("copy", "copy_to", fact, COPY_EXPECTED)
    copies: Sequence[str] = fact.value if isinstance(fact.value, tuple) else ()
    note = f" ({fact.note})" if fact.note else ""
    observed = {"copies": [c.as_observed() for c in fact.copies]}
    if not copies:
        return CheckResult(CHECK, "copy", False, observed, COPY_EXPECTED,
                           f"no copy in another region or account is configured{note}; the policy requires one")
    return CheckResult(CHECK, "copy", True, observed, COPY_EXPECTED, f"copies to {', '.join(copies)}{note}")


_JUDGES: dict[str, Judge] = {
    "retention": _retention, "encryption": _encryption, "copy": _copy,
    "pitr": _flag("pitr", "pitr", "point-in-time recovery is on", "point-in-time recovery is OFF"),
    "survives_deletion": _flag("survives_deletion", "survives_deletion", "backups outlive the deletion of the "
                               "instance or table", "backups do NOT outlive the deletion of the instance or table"),
    "deletion_protection": _flag("deletion_protection", "deletion_protection", "deletion protection is on",
                                 "deletion protection is OFF"),
}
