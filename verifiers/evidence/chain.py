"""Tamper evidence for a reports root: SHA256SUMS per run, a hash chain between runs, and their verification.

A run is *sealed* once its SHA256SUMS exists: a header, one `sha256sum` line per file of the run directory
(sorted), then `# seal sha256 <digest of every byte above>`, so an edit of SHA256SUMS itself is told apart
from an edit of a file it lists. `sha256sum -c SHA256SUMS` checks a run without restoreproof installed.

The chain: each run's evidence.json carries `chain.sequence` (1 for the first run of the reports root) and
`chain.previous`: the run sealed before it, with the sha256 of its evidence.json, of its SHA256SUMS and of each
of its files. Sealing happens under a lock on the reports root, so concurrent runs still form one line.
Verification checks every run against its SHA256SUMS and every link against the run it names, and reports
problems in the runs' order, so the first one is the first broken link. What no chain can show by itself is
the deletion of the newest runs: anchor the head off the runner (`evidence upload`, or signing).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifiers.atomic import write_text_atomically
from verifiers.errors import EvidenceError
from verifiers.evidence.signing import SIGNATURE as SIGNATURE  # chain.SIGNATURE: a run file like SUMS
from verifiers.evidence.signing import PublicKey, check_signature
from verifiers.sources import sha256_file

EVIDENCE = "evidence.json"
SUMS = "SHA256SUMS"
LOCK = ".restoreproof-chain.lock"
SEAL_PREFIX = "# seal sha256 "
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ENTRY = re.compile(r"^([0-9a-f]{64})  (.+)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a reports root: the file (relative to the root) and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class RunRecord:
    """What verification learned about one run directory."""

    directory: Path
    rel: str
    evidence: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    sealed_evidence: bool = False  # evidence.json matches a valid SHA256SUMS: its links can be trusted

    @property
    def run_id(self) -> str:
        return str((self.evidence or {}).get("run", {}).get("id") or self.directory.name)

    @property
    def chain(self) -> dict[str, Any] | None:
        chain = (self.evidence or {}).get("chain")
        return chain if isinstance(chain, dict) else None

    @property
    def sequence(self) -> int | None:
        value = (self.chain or {}).get("sequence")
        return value if isinstance(value, int) else None


@dataclass(frozen=True)
class ChainReport:
    runs: tuple[RunRecord, ...]
    problems: tuple[Problem, ...]
    head: RunRecord | None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def head_digest(self) -> str | None:
        if self.head is None or not (self.head.directory / SUMS).is_file():
            return None
        return sha256_file(self.head.directory / SUMS)


# --- layout -------------------------------------------------------------------------------------------------

def run_dirs(root: Path) -> list[Path]:
    """Run directories of a reports root (ROOT/YYYY-MM/<run-id>/), oldest first."""
    months = sorted(p for p in root.iterdir() if p.is_dir() and _MONTH.match(p.name))
    return [run for month in months for run in sorted(p for p in month.iterdir() if p.is_dir())]


def runs_to_upload(root: Path) -> list[Path]:
    """The run directories of a reports root to upload; EvidenceError when there is no such root or no run."""
    if not root.is_dir():
        raise EvidenceError(f"{root}: no such reports directory", hint="pass the reports root (--reports-dir)")
    runs = run_dirs(root)
    if not runs:
        raise EvidenceError(f"{root}: no run directories (YYYY-MM/<run-id>/) to upload",
                            hint="pass the reports root the runs were written to (--reports-dir)")
    return runs


def run_files(directory: Path) -> list[str]:
    """Every file of a run (relative POSIX paths, sorted) but the seal and its signature."""
    names = (p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    return sorted(n for n in names if n not in (SUMS, SIGNATURE))


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def read_evidence(path: Path) -> dict[str, Any] | None:
    """evidence.json as a mapping, or None when it is missing or unreadable (verification says why)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


# --- sealing ------------------------------------------------------------------------------------------------

@contextmanager
def chain_lock(root: Path) -> Iterator[None]:
    """Serialise sealing in one reports root: the previous run is chosen and the new run sealed as one step."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_link(root: Path, *, exclude: Path) -> dict[str, Any]:
    """The chain record of a run about to be sealed: its sequence and the run it follows (None for the first).

    The previous run is the newest run of the root that has an evidence.json: newest by chain sequence, then
    by start time and run id (runs written before chaining count as sequence 0)."""
    candidates = []
    for directory in run_dirs(root):
        if directory == exclude:
            continue
        evidence = read_evidence(directory / EVIDENCE)
        if evidence is None:
            continue
        record = RunRecord(directory, _rel(root, directory), evidence)
        started = str(evidence.get("run", {}).get("started", ""))
        candidates.append(((record.sequence or 0, started, directory.name), record))
    if not candidates:
        return {"sequence": 1, "previous": None}
    _, head = max(candidates, key=lambda c: c[0])
    return {"sequence": (head.sequence or 0) + 1, "previous": _link_to(head)}


def _link_to(run: RunRecord) -> dict[str, Any]:
    files = {name: sha256_file(run.directory / name) for name in _all_files(run.directory)}
    return {
        "run": run.run_id,
        "path": run.rel,
        "evidence_sha256": files.get(EVIDENCE),
        "sums_sha256": files.get(SUMS),
        "files": files,
    }


def _all_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def seal_run(directory: Path, run_id: str) -> str:
    """Write SHA256SUMS over every file of the run (they must be final) and return its sha256."""
    names = run_files(directory)
    for name in names:
        if "\n" in name or "\\" in name:
            raise EvidenceError(f"{directory / name}: cannot seal a file whose name has a newline or backslash",
                                hint="rename or remove it, then run again")
    body = f"# restoreproof run {run_id}\n" + "".join(f"{sha256_file(directory / n)}  {n}\n" for n in names)
    text = f"{body}{SEAL_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}\n"
    write_text_atomically(directory / SUMS, text)
    return hashlib.sha256(text.encode()).hexdigest()


def read_sums(path: Path) -> tuple[dict[str, str], str | None]:
    """The entries of a SHA256SUMS and, when it cannot be trusted, why (then the entries are empty)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return {}, "modified after the run was sealed: not UTF-8 text"
    lines = text.splitlines(keepends=True)
    if not lines or not lines[-1].startswith(SEAL_PREFIX) or not lines[-1].endswith("\n"):
        return {}, "modified or truncated after the run was sealed: its last line is not the seal"
    body = "".join(lines[:-1])
    if lines[-1][len(SEAL_PREFIX):].strip() != hashlib.sha256(body.encode()).hexdigest():
        return {}, "modified after the run was sealed: its seal does not match its contents"
    entries: dict[str, str] = {}
    for number, line in enumerate(lines[:-1], start=1):
        if line.startswith("#"):
            continue
        match = _ENTRY.match(line.rstrip("\n"))
        if match is None or match.group(2) in entries:
            return {}, f"line {number} is not a `<sha256>  <file>` line of a new file"
        entries[match.group(2)] = match.group(1)
    return entries, None


# --- verification -------------------------------------------------------------------------------------------

def verify_reports(root: Path, *, trusted_key: PublicKey | None = None) -> ChainReport:
    """Check every run of a reports root against its SHA256SUMS (and signature), and the chain between runs."""
    if not root.is_dir():
        raise EvidenceError(f"{root}: no such reports directory",
                            hint="pass the directory that holds the YYYY-MM/<run-id>/ run directories")
    runs = [check_run(root, directory, trusted_key=trusted_key) for directory in run_dirs(root)]
    if not runs:
        raise EvidenceError(f"{root}: no run directories (YYYY-MM/<run-id>/) found",
                            hint="pass the reports root the runs were written to (--reports-dir)")
    chain_problems, head = check_chain(runs)
    order = {run.rel: index for index, run in enumerate(runs)}
    problems = [p for run in runs for p in run.problems] + chain_problems

    def position(problem: Problem) -> tuple[int, str]:
        run_rel = "/".join(problem.path.split("/")[:2])
        return (order.get(run_rel, len(order)), run_rel)

    ordered = sorted(problems, key=position)  # stable: within a run, in the order found
    return ChainReport(runs=tuple(runs), problems=tuple(dict.fromkeys(ordered)), head=head)


def check_run(root: Path, directory: Path, *, trusted_key: PublicKey | None = None) -> RunRecord:
    """One run on its own: every file matches its SHA256SUMS, nothing was added, the evidence is this run's."""
    rel = _rel(root, directory)
    record = RunRecord(directory, rel, read_evidence(directory / EVIDENCE))
    problems = record.problems
    sums = directory / SUMS
    if not sums.is_file():
        problems.append(Problem(f"{rel}/{SUMS}", "missing: the run was never sealed (interrupted, or written "
                                "before restoreproof sealed runs) or the file was deleted"))
    else:
        entries, why = read_sums(sums)
        if why is not None:
            problems.append(Problem(f"{rel}/{SUMS}", why))
        else:
            file_problems = _check_files(directory, rel, entries)
            problems.extend(file_problems)
            record.sealed_evidence = EVIDENCE in entries and all(p.path != f"{rel}/{EVIDENCE}" for p in file_problems)
    problems.extend(_check_identity(directory, rel, record.evidence))
    signed_by = ((record.chain or {}).get("signature") or {}).get("key_id")
    for message in check_signature(directory, expected_key_id=signed_by, trusted=trusted_key):
        problems.append(Problem(f"{rel}/{SIGNATURE}", message))
    return record


def _check_files(directory: Path, rel: str, entries: Mapping[str, str]) -> list[Problem]:
    problems = []
    present = set(run_files(directory))
    for name in sorted(set(entries) | present):
        path = directory / name
        if name not in entries:
            problems.append(Problem(f"{rel}/{name}", "not listed in SHA256SUMS: added after the run was sealed"))
        elif name not in present:
            problems.append(Problem(f"{rel}/{name}", "listed in SHA256SUMS but missing: deleted after the run "
                                    "was sealed"))
        elif sha256_file(path) != entries[name]:
            problems.append(Problem(f"{rel}/{name}", "modified after the run was sealed: its sha256 differs "
                                    "from the one in SHA256SUMS"))
    return problems


def _check_identity(directory: Path, rel: str, evidence: dict[str, Any] | None) -> list[Problem]:
    path = f"{rel}/{EVIDENCE}"
    if not (directory / EVIDENCE).is_file():
        return [Problem(path, "missing: every run directory must hold its evidence.json")]
    if evidence is None:
        return [Problem(path, "unreadable: not a JSON object (modified or truncated)")]
    raw_run = evidence.get("run")
    run: dict[str, Any] = raw_run if isinstance(raw_run, dict) else {}
    problems = []
    if run.get("id") != directory.name:
        problems.append(Problem(path, f"is the evidence of run {run.get('id')!r}, not of {directory.name}: run "
                                "directories were renamed or reordered"))
    started = str(run.get("started", ""))
    if started[:7] != directory.parent.name:
        problems.append(Problem(path, f"the run started {started or 'at an unknown time'} but is filed under "
                                f"{directory.parent.name}/: it was moved between months"))
    if not isinstance(evidence.get("chain"), dict):
        problems.append(Problem(path, "has no chain record: written before restoreproof chained runs, or the "
                                "record was removed"))
    return problems


def check_chain(runs: list[RunRecord]) -> tuple[list[Problem], RunRecord | None]:
    """Every link names a present run whose files still have the digests recorded; one start, no forks.
    Only links in evidence that matches its run's seal are followed (a tampered one is reported on its own)."""
    chained = [r for r in runs if r.chain is not None and r.sealed_evidence]
    by_id: dict[str, RunRecord] = {}
    problems: list[Problem] = []
    for run in (r for r in runs if r.evidence is not None):
        if run.run_id in by_id:
            problems.append(Problem(f"{run.rel}/{EVIDENCE}", f"run {run.run_id} is also at {by_id[run.run_id].rel}: "
                                    "a run directory was copied"))
        by_id.setdefault(run.run_id, run)
    followers: dict[str, list[RunRecord]] = {}
    starts: list[RunRecord] = []
    for run in chained:
        previous = (run.chain or {}).get("previous")
        if previous is None:
            starts.append(run)
            if run.sequence != 1:
                problems.append(Problem(f"{run.rel}/{EVIDENCE}", f"has no previous run but sequence "
                                        f"{run.sequence}: its link was removed"))
            continue
        if not isinstance(previous, dict):
            problems.append(Problem(f"{run.rel}/{EVIDENCE}", "its chain.previous is not a link record"))
            continue
        target = by_id.get(str(previous.get("run")))
        if target is None:
            problems.append(Problem(f"{previous.get('path')}/{EVIDENCE}", f"missing: run {previous.get('run')} "
                                    f"was deleted or moved ({run.rel}/{EVIDENCE} links to it as the previous run)"))
            continue
        followers.setdefault(target.run_id, []).append(run)
        problems.extend(_check_link(run, target, previous))
    for target_id, after in followers.items():
        for extra in after[1:]:
            problems.append(Problem(f"{extra.rel}/{EVIDENCE}", f"follows run {target_id} as {after[0].rel} does: "
                                    "the chain forks (runs sealed without the lock, or a run was copied in)"))
    for extra in starts[1:]:
        problems.append(Problem(f"{extra.rel}/{EVIDENCE}", f"starts a second chain ({starts[0].rel} started the "
                                "first): runs from another reports root were mixed in, or a link was removed"))
    heads = [r for r in chained if r.run_id not in followers]
    head = max(heads, key=lambda r: (r.sequence or 0, r.rel)) if heads else None
    return problems, head


def _check_link(run: RunRecord, target: RunRecord, previous: Mapping[str, Any]) -> list[Problem]:
    """The previous run must still be exactly what `run` recorded when it was sealed."""
    problems = []
    here = f"{run.rel}/{EVIDENCE}"
    if previous.get("path") != target.rel:
        problems.append(Problem(here, f"links to run {target.run_id} at {previous.get('path')}/, but that run "
                                f"is at {target.rel}/: run directories were moved or reordered"))
    raw_files = previous.get("files")
    recorded: dict[str, Any] = raw_files if isinstance(raw_files, dict) else {}
    present = set(_all_files(target.directory))
    for name in sorted(set(recorded) | present):
        path = f"{target.rel}/{name}"
        if name not in recorded:
            problems.append(Problem(path, f"added after run {run.run_id} was sealed ({here} does not record it)"))
        elif name not in present:
            problems.append(Problem(path, f"deleted after run {run.run_id} was sealed ({here} records it)"))
        elif sha256_file(target.directory / name) != recorded[name]:
            problems.append(Problem(path, f"modified after run {run.run_id} was sealed: its sha256 differs from "
                                    f"the one {here} records"))
    if target.sequence is not None and run.sequence != target.sequence + 1:
        problems.append(Problem(here, f"has sequence {run.sequence} but follows {target.rel} (sequence "
                                f"{target.sequence}): runs were reordered"))
    return problems
