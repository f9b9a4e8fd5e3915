"""Which SOC 2 criteria each check evidences (Trust Services Criteria, Availability: A1.2 and A1.3).

A1.2: backup processes and recovery infrastructure are implemented, operated and monitored — backups are
performed and intact. A1.3: recovery plan procedures are tested — restores are tested, and the recovered data
is checked for completeness and integrity within the recovery time objective.
"""

from __future__ import annotations

from dataclasses import dataclass

CRITERIA = {
    "A1.2": "Backups are performed, retained and intact (data backup processes and recovery infrastructure "
            "are operated and monitored).",
    "A1.3": "Recovery procedures are tested: backups are restored, and the restored data is checked for "
            "completeness and integrity within the recovery objectives.",
}


@dataclass(frozen=True)
class CriteriaMapping:
    check: str
    criteria: tuple[str, ...]
    evidences: str


MAPPING: tuple[CriteriaMapping, ...] = (
    CriteriaMapping("artifact", ("A1.2",), "the backup exists and is byte-for-byte the one captured at backup "
                    "time (sha256 against its manifest)"),
    CriteriaMapping("rpo", ("A1.2",), "backups are taken often enough: the newest backup's age is within the "
                    "recovery point objective"),
    CriteriaMapping("restore", ("A1.3",), "the backup was restored into a clean, disposable server without "
                    "errors"),
    CriteriaMapping("tables", ("A1.3",), "completeness: every table captured is present after the restore, none "
                    "unexpected"),
    CriteriaMapping("row_count", ("A1.3",), "completeness: each table holds the number of rows captured"),
    CriteriaMapping("checksum", ("A1.3",), "integrity: each table's content checksum equals the one captured"),
    CriteriaMapping("schema", ("A1.3",), "integrity: columns, indexes, constraints and database objects match "
                    "the captured definitions"),
    CriteriaMapping("sequence", ("A1.3",), "integrity: sequences resume where they were, so the restored "
                    "database accepts new writes"),
    CriteriaMapping("assertion", ("A1.3",), "integrity: the business invariants you defined hold on the "
                    "restored data"),
    CriteriaMapping("rto", ("A1.3",), "recovery is timed: fetch, provision, restore and verify took no longer "
                    "than the recovery time objective"),
)
_BY_CHECK = {m.check: m for m in MAPPING}


def criteria_for(check: str) -> tuple[str, ...]:
    """The criteria a check evidences; a check of a new store kind is a recovery test (A1.3) by default."""
    mapping = _BY_CHECK.get(check)
    return mapping.criteria if mapping else ("A1.3",)


def describe(check: str) -> str:
    mapping = _BY_CHECK.get(check)
    return mapping.evidences if mapping else "a check on the restored data"


def mapping_records() -> list[dict[str, object]]:
    """The mapping as index.json lists it."""
    return [{"check": m.check, "criteria": list(m.criteria), "evidences": m.evidences} for m in MAPPING]
