"""SHA256SUMS, the hash chain and signatures: a clean chain verifies; any changed byte of any archived file, a
deleted or added file, a deleted, moved or reordered run, a forged link or signature is detected, and the
first problem names the exact file."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.evidence_runs import at, evidence_schema, make_run, store_record, write_key
from verifiers.cli import main
from verifiers.evidence import chain, signing
from verifiers.sources import sha256_file

FILES = ("evidence.json", "junit.xml", "report.html", "SHA256SUMS", "SHA256SUMS.sig")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    """Four signed runs over two months, across a year boundary: (root, runs oldest first, public key)."""
    base = tmp_path_factory.mktemp("archive")
    key, _, public = write_key(base)
    root = base / "reports"
    runs = [make_run(root, moment, [store_record()], key=key)
            for moment in (at(2025, 12, 1), at(2025, 12, 15), at(2026, 1, 2), at(2026, 1, 20))]
    return root, runs, public


@pytest.fixture
def copy(archive: tuple[Path, list[Path], Path], tmp_path: Path) -> tuple[Path, list[Path]]:
    """A private copy of the archive, free to damage."""
    root, runs, _ = archive
    target = tmp_path / "reports"
    shutil.copytree(root, target)
    return target, [target / r.relative_to(root) for r in runs]


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def first_broken(root: Path, **kwargs: object) -> chain.Problem:
    report = chain.verify_reports(root, **kwargs)  # type: ignore[arg-type]
    assert report.first_broken is not None, "the damage went undetected"
    return report.first_broken


def test_clean_chain_verifies(archive: tuple[Path, list[Path], Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, runs, public = archive
    report = chain.verify_reports(root, trusted_key=signing.load_public_key(public))
    assert report.ok, [str(p) for p in report.problems]
    assert report.head is not None and report.head.directory == runs[-1]
    records = [json.loads((r / "evidence.json").read_text()) for r in runs]
    assert [r["chain"]["sequence"] for r in records] == [1, 2, 3, 4]
    assert records[0]["chain"]["previous"] is None
    for before, after, record in zip(runs, runs[1:], records[1:], strict=False):
        link = record["chain"]["previous"]
        assert link["run"] == before.name and link["path"] == rel(root, before)
        assert link["evidence_sha256"] == sha256_file(before / "evidence.json")
        assert link["sums_sha256"] == sha256_file(before / "SHA256SUMS")
        assert after.name > before.name
    for record in records:
        jsonschema.validate(record, evidence_schema())
    assert main(["evidence", "verify", str(root), "--public-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert "verified 4 runs" in out and f"head: {rel(root, runs[-1])}" in out and "4 signed by the given key" in out


def test_sums_file_is_sha256sum_compatible(archive: tuple[Path, list[Path], Path]) -> None:
    _, runs, _ = archive
    checked = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=runs[0], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(checked.stdout.split()) == sorted(["evidence.json:", "OK", "junit.xml:", "OK", "report.html:", "OK"])


@pytest.mark.parametrize("run_index", [1, 3], ids=["middle-run", "newest-run"])
@pytest.mark.parametrize("name", ["SHA256SUMS", "SHA256SUMS.sig"])
def test_every_byte_of_the_seal_and_signature(copy: tuple[Path, list[Path]], run_index: int, name: str) -> None:
    """The files that vouch for the others: any single changed byte is blamed on them, not on what they list."""
    root, runs = copy
    path = runs[run_index] / name
    original = path.read_bytes()
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        problem = first_broken(root)
        assert problem.path == rel(root, path), (position, str(problem))
    path.write_bytes(original)
    assert chain.verify_reports(root).ok


@pytest.fixture(scope="module")
def shared_copy(archive: tuple[Path, list[Path], Path],
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root, runs, _ = archive
    target = tmp_path_factory.mktemp("flips") / "reports"
    shutil.copytree(root, target)
    return target, [target / r.relative_to(root) for r in runs]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_index=st.integers(0, 3), name=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True),
       mask=st.integers(1, 255))
def test_any_changed_byte_of_any_file_is_named(shared_copy: tuple[Path, list[Path]], run_index: int, name: str,
                                               where: float, mask: int) -> None:
    root, runs = shared_copy
    path = runs[run_index] / name
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[int(where * len(original))] ^= mask
    path.write_bytes(bytes(damaged))
    try:
        problem = first_broken(root)
        assert problem.path == rel(root, path), str(problem)
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("name", ["report.html", "junit.xml", "evidence.json", "SHA256SUMS", "SHA256SUMS.sig"])
def test_deleted_file_is_named(copy: tuple[Path, list[Path]], name: str) -> None:
    root, runs = copy
    (runs[1] / name).unlink()
    problem = first_broken(root)
    assert problem.path == rel(root, runs[1] / name)
    assert "missing" in problem.message or "deleted" in problem.message


def test_added_file_is_named(copy: tuple[Path, list[Path]]) -> None:
    root, runs = copy
    (runs[2] / "notes.txt").write_text("added later")
    problem = first_broken(root)
    assert problem.path == rel(root, runs[2] / "notes.txt") and "added after" in problem.message


@pytest.mark.parametrize("index", [0, 1, 2])
def test_deleted_run_is_named(copy: tuple[Path, list[Path]], index: int, capsys: pytest.CaptureFixture[str]) -> None:
    root, runs = copy
    shutil.rmtree(runs[index])
    problem = first_broken(root)
    assert problem.path == f"{rel(root, runs[index])}/evidence.json"
    assert "deleted or moved" in problem.message and rel(root, runs[index + 1]) in problem.message
    assert main(["evidence", "verify", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAILED: first broken link: {rel(root, runs[index])}/evidence.json: missing")


def test_swapped_runs_are_named(copy: tuple[Path, list[Path]]) -> None:
    """Reordering by renaming: each directory now holds the other run's evidence."""
    root, runs = copy
    parking = runs[0].with_name("parking")
    runs[0].rename(parking)
    runs[1].rename(runs[0])
    parking.rename(runs[1])
    problem = first_broken(root)
    assert problem.path == f"{rel(root, runs[0])}/evidence.json"
    assert "renamed or reordered" in problem.message


def test_run_moved_to_another_month_is_named(copy: tuple[Path, list[Path]]) -> None:
    root, runs = copy
    moved = root / "2026-01" / runs[1].name
    runs[1].rename(moved)
    problem = first_broken(root)
    assert problem.path == f"{rel(root, moved)}/evidence.json" and "moved between months" in problem.message


def test_resealed_run_is_caught_by_its_successor(copy: tuple[Path, list[Path]]) -> None:
    """An editor who also rewrites SHA256SUMS (and drops the signature) still breaks the next run's link, which
    names the exact file."""
    root, runs = copy
    report = runs[1] / "report.html"
    report.write_text(report.read_text().replace("run", "RUN"))
    (runs[1] / "SHA256SUMS.sig").unlink()
    chain.seal_run(runs[1], runs[1].name)
    problems = chain.verify_reports(root).problems
    assert [p.path for p in problems][:1] == [rel(root, runs[1] / "SHA256SUMS.sig")]  # evidence names the key
    assert any(p.path == rel(root, report) and f"after run {runs[2].name} was sealed" in p.message for p in problems)


def test_reordered_sequence_is_caught(copy: tuple[Path, list[Path]]) -> None:
    """Renumbering a run, even re-sealed, is caught by the next run's link and by the sequence rule."""
    root, runs = copy
    evidence = runs[2] / "evidence.json"
    record = json.loads(evidence.read_text())
    record["chain"]["sequence"] = 9
    evidence.write_text(json.dumps(record, indent=2) + "\n")
    chain.seal_run(runs[2], runs[2].name)
    messages = [str(p) for p in chain.verify_reports(root).problems]
    assert messages[0].startswith(f"{rel(root, runs[2])}/SHA256SUMS.sig: ")
    assert any(m.startswith(f"{rel(root, evidence)}: modified after run {runs[3].name}") for m in messages)
    assert any("has sequence 9 but follows" in m for m in messages)
    assert any("has sequence 4 but follows" in m for m in messages)


def test_fork_is_named(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    first = make_run(root, at(2026, 3, 1))
    second = make_run(root, at(2026, 3, 2))
    third = make_run(root, at(2026, 3, 3))
    evidence = third / "evidence.json"
    record = json.loads(evidence.read_text())
    record["chain"] = json.loads((second / "evidence.json").read_text())["chain"]
    evidence.write_text(json.dumps(record, indent=2) + "\n")
    chain.seal_run(third, third.name)
    problem = first_broken(root)
    assert problem.path == rel(root, evidence) and f"follows run {first.name}" in problem.message


def test_unsealed_and_legacy_runs_are_named(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    legacy = root / "2026-02" / "20260201T000000Z-aaaaaa"
    legacy.mkdir(parents=True)
    (legacy / "evidence.json").write_text(json.dumps({"schema_version": 1, "run": {
        "id": legacy.name, "started": "2026-02-01T00:00:00Z"}, "stores": []}))
    sealed = make_run(root, at(2026, 2, 2))
    link = json.loads((sealed / "evidence.json").read_text())["chain"]
    assert link["previous"]["run"] == legacy.name and link["sequence"] == 1
    problems = [str(p) for p in chain.verify_reports(root).problems]
    assert problems == [
        f"{rel(root, legacy)}/SHA256SUMS: missing: the run was never sealed (interrupted, or written before "
        "restoreproof sealed runs) or the file was deleted",
        f"{rel(root, legacy)}/evidence.json: has no chain record: written before restoreproof chained runs, or the "
        "record was removed",
    ]


def test_signatures_checked_against_a_trusted_key(copy: tuple[Path, list[Path]], tmp_path: Path) -> None:
    root, runs = copy
    _, _, other_public = write_key(tmp_path)
    problem = first_broken(root, trusted_key=signing.load_public_key(other_public))
    assert problem.path == rel(root, runs[0] / "SHA256SUMS.sig") and "not by the trusted key" in problem.message


def test_unsigned_runs_fail_when_a_key_is_required(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    run = make_run(root, at(2026, 4, 1))
    key, private, public = write_key(tmp_path)
    assert chain.verify_reports(root).ok
    problem = first_broken(root, trusted_key=key.public_key())
    assert problem.path == rel(root, run / "SHA256SUMS.sig") and "not signed" in problem.message
    assert main(["evidence", "verify", str(root), "--signing-key", str(private)]) == 1
    assert main(["evidence", "verify", str(root), "--public-key", str(public)]) == 1


def test_concurrent_runs_form_one_chain(tmp_path: Path) -> None:
    """Sealing takes the reports root's lock: runs finishing together still each follow exactly one run."""
    root = tmp_path / "reports"
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def seal(day: int) -> None:
        start.wait()
        try:
            make_run(root, at(2026, 5, day))
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=seal, args=(day,)) for day in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = chain.verify_reports(root)
    assert report.ok, [str(p) for p in report.problems]
    assert sorted(r.sequence or 0 for r in report.runs) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(("argv", "message"), [
    (["evidence", "verify", "{tmp}/nowhere"], "no such reports directory"),
    (["evidence", "verify", "{tmp}"], "no run directories"),
    (["evidence", "verify", "{root}", "--public-key", "{tmp}/missing.pem"], "cannot read the public key"),
    (["evidence", "verify", "{root}", "--public-key", "{root}/2025-12"], "cannot read the public key"),
    (["evidence", "verify", "{root}", "--signing-key", "{bad}"], "not a PEM private key"),
])
def test_bad_input_is_exit_2(archive: tuple[Path, list[Path], Path], tmp_path: Path, argv: list[str], message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    root, _, _ = archive
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    args = [a.format(tmp=tmp_path, root=root, bad=bad) for a in argv]
    assert main(args) == 2
    assert message in capsys.readouterr().err
