"""Which SOC 2 criteria each check evidences (Trust Services Criteria, Availability: A1.2 and A1.3).

A1.2: backup processes and recovery infrastructure are implemented, operated and monitored — backups are
performed and intact. A1.3: recovery plan procedures are tested — restores are tested, and the recovered data
is checked for completeness and integrity within the recovery time objective.

A criterion is claimed only for a check that compared something: one recorded as not compared (`compared`
false in evidence.json, e.g. the artifact check when the live database is the reference) evidences nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

CRITERIA = {
    "A1.2": "Backups are performed, retained and intact (data backup processes and recovery infrastructure "
            "are operated and monitored).",
    "A1.3": "Recovery procedures are tested: backups are restored, and the restored data is checked for "
            "completeness and integrity within the recovery objectives.",
    "C1.1": "Confidential information is protected (here: backups encrypted at rest).",
    "CC6.1": "Logical access to information assets is restricted (here: backup buckets not public).",
    "P4.3": "Personal information is disposed of as committed (here: erasures hold in restored backups).",
}


@dataclass(frozen=True)
class CriteriaMapping:
    check: str
    criteria: tuple[str, ...]
    evidences: str


MAPPING: tuple[CriteriaMapping, ...] = (
    CriteriaMapping("artifact", ("A1.2",), "the backup exists and is the one captured at backup time: a file's "
                    "sha256 against its manifest; a snapshot or cloud backup, that it exists and is available (or "
                    "point-in-time recovery enabled)"),
    CriteriaMapping("rpo", ("A1.2",), "backups are taken often enough: the newest backup's age is within the "
                    "recovery point objective"),
    CriteriaMapping("restore", ("A1.3",), "the backup was restored into a clean, disposable server without "
                    "errors"),
    CriteriaMapping("engine", ("A1.3",), "fidelity: the restore ran on the source's engine major (or says which "
                    "other one, and why)"),
    CriteriaMapping("manifest", ("A1.3",), "the reference is of the restored moment: the manifest compared with "
                    "records the snapshot's id, or was captured at most the tolerance before it"),
    CriteriaMapping("tables", ("A1.3",), "completeness: every table captured is present after the restore, none "
                    "unexpected"),
    CriteriaMapping("row_count", ("A1.3",), "completeness: each table holds the number of rows captured"),
    CriteriaMapping("collections", ("A1.3",), "completeness: every MongoDB collection captured is present after "
                    "the restore, none unexpected"),
    CriteriaMapping("document_count", ("A1.3",), "completeness: each collection holds the number of documents "
                    "captured"),
    CriteriaMapping("checksum", ("A1.3",), "integrity: each table's content checksum equals the one captured (with "
                    "`sample`, over the key ranges measured, the chance of detecting a change stated in the check)"),
    CriteriaMapping("schema", ("A1.3",), "integrity: columns, indexes, constraints and database objects match "
                    "the captured definitions"),
    CriteriaMapping("sequence", ("A1.3",), "integrity: sequences resume where they were, so the restored "
                    "database accepts new writes"),
    CriteriaMapping("corruption", ("A1.3",), "integrity: the restored copy is not silently corrupt: PostgreSQL's "
                    "indexes are sound and hold every row (amcheck), MySQL's tables pass CHECK TABLE, a Redis "
                    "RDB's CRC64 matches its content"),
    CriteriaMapping("self_test", ("A1.3",), "the recovery test itself can fail: a removed row or key, a changed "
                    "value and a dropped index in the restored copy were each detected (and undone)"),
    CriteriaMapping("assertion", ("A1.3",), "integrity: the business invariants you defined hold on the "
                    "restored data"),
    CriteriaMapping("rto", ("A1.3",), "recovery is timed: fetch, provision, restore and verify took no longer "
                    "than the recovery time objective"),
    # compliance checks beyond the restore (verifiers/compliance/)
    CriteriaMapping("rpo_gap", ("A1.2",), "backups ran without interruption: the largest gap between recovery "
                    "points over the window is within the recovery point objective"),
    CriteriaMapping("pitr_lag", ("A1.2",), "point-in-time recovery is current: the latest restorable time lags "
                    "by no more than the recovery point objective"),
    CriteriaMapping("encryption", ("A1.2", "C1.1"), "backups are encrypted at rest, with the expected KMS key"),
    CriteriaMapping("copy", ("A1.2",), "a copy of the backups is kept in a second region, no older than the "
                    "recovery point objective"),
    CriteriaMapping("manual_copy", ("A1.2",), "backups survive the deletion of the database: a manual or AWS "
                    "Backup snapshot exists, not automated snapshots only"),
    CriteriaMapping("retention", ("A1.2",), "backups are retained at least as long as the policy requires"),
    CriteriaMapping("bucket", ("A1.2", "CC6.1"), "buckets holding backups keep versions, encrypt by default and "
                    "block public access"),
    CriteriaMapping("backup_jobs", ("A1.2",), "backup operation is monitored: the AWS Backup job success rate "
                    "meets its target, failed jobs listed"),
    CriteriaMapping("backup_success", ("A1.2",), "backup operation is monitored: the share of the scheduled "
                    "backups that completed over the period, read from the provider's own history, meets its target; "
                    "the days without one are named"),
    CriteriaMapping("configuration", ("A1.2",), "the backup configuration read from the provider meets the policy: "
                    "retention, encryption and key, a copy elsewhere, point-in-time recovery, backups surviving the "
                    "deletion of the database, deletion protection"),
    CriteriaMapping("canary", ("A1.3",), "the restored backup holds the newest canary written before it: it is "
                    "from the right database and as fresh as it claims"),
    CriteriaMapping("gdpr", ("P4.3",), "GDPR Art. 17: subjects erased before the backup are not in it; those "
                    "erased after are listed for re-erasure before it goes live"),
    CriteriaMapping("migrate", ("A1.3",), "today's migrations upgrade the restored backup: it can actually be "
                    "put back into service"),
)
_BY_CHECK = {m.check: m for m in MAPPING}


NOT_COMPARED = "nothing: the check compared nothing (not compared), so it claims no criterion"


def criteria_for(check: str, *, compared: bool = True) -> tuple[str, ...]:
    """The criteria a check evidences (none when it compared nothing); a check of a new store kind is a
    recovery test (A1.3) by default."""
    if not compared:
        return ()
    mapping = _BY_CHECK.get(check)
    return mapping.criteria if mapping else ("A1.3",)


def describe(check: str, *, compared: bool = True) -> str:
    if not compared:
        return NOT_COMPARED
    mapping = _BY_CHECK.get(check)
    return mapping.evidences if mapping else "a check on the restored data"


def mapping_records() -> list[dict[str, object]]:
    """The mapping as index.json lists it."""
    return [{"check": m.check, "criteria": list(m.criteria), "evidences": m.evidences} for m in MAPPING]
