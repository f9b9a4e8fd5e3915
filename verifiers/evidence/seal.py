"""One chain across CI jobs and months: upload each job's sealed runs to the ARCHIVE, seal what was uploaded since
the last seal into one chain entry after the archive's head, and verify the whole archive.

Each matrix job writes its run into a fresh reports directory, so each run is the first of its own job-level chain;
the archive's chain is the seals. An entry (seals/NNNNNN.json, canonical JSON) records its sequence, the sha256
of the previous entry's bytes, and for every run it seals: its path, id, the sha256 of its SHA256SUMS and of its
evidence.json, and whether it restored data. Verification checks every run against its own SHA256SUMS and
signature, every entry against the previous one and its signature, and every sealed run against what its entry
recorded: a tampered file, a run deleted from the middle and a broken or forked link are each named. What no
chain shows by itself is the deletion of the newest entries: the head's sha256 is printed to be compared with a
copy kept elsewhere, and an S3 archive under Object Lock cannot lose them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifiers.errors import EvidenceError
from verifiers.evidence import chain, signing
from verifiers.evidence.archive import Archive, ArchiveConflict, UploadReport
from verifiers.evidence.archives import mirrored
from verifiers.evidence.result_kinds import run_restored

SEALS = "seals"
SEAL_SCHEMA_VERSION = 1
SEAL_ATTEMPTS = 5
_ENTRY_NAME = re.compile(r"^(\d{6})\.json$")
CI_VARIABLES = ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_WORKFLOW", "GITHUB_EVENT_NAME", "GITHUB_ACTOR",
                "CI_PROJECT_PATH", "CI_PIPELINE_ID", "CI_PIPELINE_SOURCE", "GITLAB_USER_LOGIN")


def entry_path(sequence: int) -> str:
    return f"{SEALS}/{sequence:06d}.json"


def _canonical(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


# --- upload -------------------------------------------------------------------------------------------------

def upload(root: Path, archive: Archive, *, say: Callable[[str], None] = print) -> UploadReport:
    """Copy every sealed run of a reports root into the archive (SHA256SUMS and its signature last); a run already
    there identically is skipped, a different one under the same path is refused, one failing its own seal is not
    uploaded. Nothing archived is ever overwritten."""
    runs = chain.runs_to_upload(root)
    report = UploadReport()
    with mirrored(archive) as there:
        for directory in runs:
            rel = directory.relative_to(root).as_posix()
            problems = chain.check_run(root, directory).problems
            if problems:
                report.refused.append(f"{rel}: not uploaded, it fails its own seal: {problems[0]}")
                continue
            archived = there / rel / chain.SUMS
            if archived.is_file():
                if archived.read_bytes() == (directory / chain.SUMS).read_bytes():
                    report.skipped.append(rel)
                    say(f"{rel}: already archived at {archive.url}/{rel}/, identical: skipped")
                else:
                    report.refused.append(f"{rel}: refused: {archive.url}/{rel}/ already holds a different run "
                                          "(its SHA256SUMS differs); archived runs are never overwritten")
                continue
            names = [*chain.run_files(directory),
                     *([chain.SIGNATURE] if (directory / chain.SIGNATURE).is_file() else []), chain.SUMS]
            try:
                archive.publish({f"{rel}/{name}": directory / name for name in names}, message=f"evidence: run {rel}")
            except ArchiveConflict as exc:
                report.refused.append(f"{rel}: {exc.describe()}")
                continue
            report.uploaded.append(rel)
            say(f"{rel}: uploaded {len(names)} files to {archive.url}/{rel}/")
    return report


# --- verification -------------------------------------------------------------------------------------------

@dataclass
class ArchiveReport:
    """What verification of an archive found, in the order an auditor reads it."""

    runs: list[chain.RunRecord]
    problems: list[chain.Problem] = field(default_factory=list)
    entries: int = 0
    head_sha256: str | None = None
    pending: list[str] = field(default_factory=list)  # runs uploaded after the last seal

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_chain_report(self) -> chain.ChainReport:
        """The shape the index reads (problems of runs keep their YYYY-MM/<run-id>/ paths)."""
        head = self.runs[-1] if self.runs else None
        return chain.ChainReport(runs=tuple(self.runs), problems=tuple(self.problems), head=head)


def is_archive(root: Path) -> bool:
    return (root / SEALS).is_dir()


def verify_archive(root: Path, *, trusted: Ed25519PublicKey | None = None) -> ArchiveReport:
    """Every run against its own seal and signature, every entry against the previous one, every sealed run
    against what its entry recorded."""
    runs = [chain.check_run(root, directory, trusted_key=trusted) for directory in chain.run_dirs(root)]
    report = ArchiveReport(runs=runs, problems=[p for run in runs for p in run.problems])
    by_rel = {run.rel: run for run in runs}
    sealed: dict[str, str] = {}
    previous_bytes: bytes | None = None
    for sequence, path in enumerate(_entries_in(root, report), start=1):
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        report.problems += [chain.Problem(rel, p) for p in _check_entry(raw, sequence, previous_bytes, path, trusted)]
        previous_bytes, report.entries = raw, sequence
        report.head_sha256 = hashlib.sha256(raw).hexdigest()
        entry = _load(raw)
        for item in entry.get("runs", []) if entry else []:
            run_rel = str(item.get("path"))
            if run_rel in sealed:
                report.problems.append(chain.Problem(rel, f"seals {run_rel} again (already sealed by "
                                                          f"{sealed[run_rel]}): the chain forks"))
                continue
            sealed[run_rel] = rel
            report.problems += _check_sealed_run(rel, item, by_rel.get(run_rel), root)
    report.pending = [run.rel for run in runs if run.rel not in sealed]
    return report


def _entries_in(root: Path, report: ArchiveReport) -> list[Path]:
    folder = root / SEALS
    if not folder.is_dir():
        return []
    entries: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".json.sig"):
            continue
        match = _ENTRY_NAME.match(path.name)
        if match is None:
            report.problems.append(chain.Problem(f"{SEALS}/{path.name}", "not a seal entry (seals/NNNNNN.json): "
                                                 "added by hand"))
            continue
        expected = len(entries) + 1
        if int(match.group(1)) != expected:
            report.problems.append(chain.Problem(f"{SEALS}/{path.name}", f"expected {entry_path(expected)} next: "
                                                 f"entry {expected} was deleted, or this one was added by hand"))
        entries.append(path)
    return entries


def _load(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _check_entry(raw: bytes, sequence: int, previous: bytes | None, path: Path,
                 trusted: Ed25519PublicKey | None) -> list[str]:
    entry = _load(raw)
    if entry is None or _canonical(entry) != raw:
        return ["modified after it was sealed: not the canonical JSON of a seal entry"]
    problems = []
    if entry.get("sequence") != sequence:
        problems.append(f"has sequence {entry.get('sequence')}, expected {sequence}: entries were reordered")
    link = entry.get("previous")
    if previous is None and link is not None:
        problems.append("links to a previous entry, but it is the first: earlier entries were deleted")
    elif previous is not None:
        wanted = hashlib.sha256(previous).hexdigest()
        if not isinstance(link, dict) or link.get("sha256") != wanted:
            problems.append(f"does not link to entry {sequence - 1} as it is now (its sha256 is {wanted[:16]}…): "
                            "that entry was modified, or this one forks the chain")
    signature = path.with_name(path.name + ".sig")
    if signature.is_file():
        problems += signing.check_document(signature.read_bytes(), raw, path.name,
                                           expected_key_id=entry.get("key_id"), trusted=trusted)
    elif entry.get("key_id") or trusted is not None:
        problems.append("its signature (.sig) is missing: deleted, or the entry was not signed")
    return problems


def _check_sealed_run(entry_rel: str, item: Mapping[str, Any], run: chain.RunRecord | None,
                      root: Path) -> list[chain.Problem]:
    run_rel = str(item.get("path"))
    if run is None:
        return [chain.Problem(f"{run_rel}/{chain.SUMS}", f"missing: run {item.get('run')} was deleted or moved "
                              f"({entry_rel} seals it)")]
    sums = root / run_rel / chain.SUMS
    if sums.is_file() and hashlib.sha256(sums.read_bytes()).hexdigest() != item.get("sums_sha256"):
        return [chain.Problem(f"{run_rel}/{chain.SUMS}", f"modified after {entry_rel} sealed it: its sha256 differs "
                              "from the one the entry records")]
    return []


# --- sealing ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SealResult:
    sequence: int | None  # None: nothing new to seal
    runs: tuple[str, ...]
    head_sha256: str | None


def seal(archive: Archive, *, key: Ed25519PrivateKey | None = None, now: datetime | None = None,
         say: Callable[[str], None] = print) -> SealResult:
    """Link every run uploaded since the last seal into one new entry after the archive's head. A run that fails
    its own seal is not sealed (the archive is refused whole, with the problems named); a seal that lost the race
    for the entry number mirrors the archive again and retries."""
    for _ in range(SEAL_ATTEMPTS):
        with mirrored(archive) as there:
            report = verify_archive(there)
            if not report.ok:
                problems = "; ".join(str(p) for p in report.problems[:10])
                raise EvidenceError(f"archive {archive.url} does not verify, so nothing is sealed: {problems}",
                                    hint="run `restoreproof evidence verify` on it and investigate; evidence already "
                                         "archived is never changed")
            if not report.pending:
                say(f"archive {archive.url}: nothing new to seal ({report.entries} entries, every run sealed)")
                return SealResult(None, (), report.head_sha256)
            sequence = report.entries + 1
            entry = _entry(there, report, sequence, key, now)
            try:
                archive.publish(_entry_files(there, entry, sequence, key),
                                message=f"evidence: seal {sequence} ({len(report.pending)} runs)")
            except ArchiveConflict:
                say(f"archive {archive.url}: another seal took entry {sequence}; trying again")
                continue
            head = hashlib.sha256(_canonical(entry)).hexdigest()
            say(f"archive {archive.url}: sealed {len(report.pending)} runs as {entry_path(sequence)}"
                f"{', signed' if key else ''}; head sha256 {head}")
            return SealResult(sequence, tuple(report.pending), head)
    raise EvidenceError(f"archive {archive.url}: {SEAL_ATTEMPTS} seals in a row lost the race for the next entry",
                        hint="another job keeps sealing; run it again when they are done")


def _entry(root: Path, report: ArchiveReport, sequence: int, key: Ed25519PrivateKey | None,
           now: datetime | None) -> dict[str, Any]:
    by_rel = {run.rel: run for run in report.runs}
    runs = []
    for rel in report.pending:
        run = by_rel[rel]
        runs.append({
            "path": rel, "run": run.run_id,
            "sums_sha256": hashlib.sha256((root / rel / chain.SUMS).read_bytes()).hexdigest(),
            "evidence_sha256": hashlib.sha256((root / rel / chain.EVIDENCE).read_bytes()).hexdigest(),
            "restored": run_restored(run.evidence or {}),
        })
    previous = None if report.head_sha256 is None else {"sequence": sequence - 1, "sha256": report.head_sha256}
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "schema_version": SEAL_SCHEMA_VERSION, "sequence": sequence, "previous": previous,
        "sealed_at": moment.isoformat().replace("+00:00", "Z"), "runs": runs,
        "key_id": signing.key_id(key.public_key()) if key else None,
        "ci": {name.lower(): os.environ[name] for name in CI_VARIABLES if os.environ.get(name)},
    }


def _entry_files(work: Path, entry: Mapping[str, Any], sequence: int,
                 key: Ed25519PrivateKey | None) -> dict[str, Path]:
    """The entry (the claim on its number: published first) and its signature, written into the mirror `work`."""
    raw = _canonical(entry)
    path = work / entry_path(sequence)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(raw)
    files = {entry_path(sequence): path}
    if key is not None:
        signature = path.with_name(path.name + ".sig")
        signature.write_text(signing.signature_document(raw, path.name, key))
        files[f"{entry_path(sequence)}.sig"] = signature
    return files
