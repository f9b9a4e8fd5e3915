"""One archive, three kinds (a directory, S3 on moto's server, a git branch of a bare repository): months of CI
workflow runs whose matrix jobs each start from an empty reports directory upload their runs, the workflow's last
job seals them into one chain entry after the archive's head, and `evidence verify` checks the whole archive.
Tampering, a run deleted from the middle, a forged entry and two seals racing are each caught or refused, and
nothing archived is ever overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.evidence_runs import at, make_run, store_record, write_key
from verifiers.cli import main
from verifiers.evidence import chain, signing
from verifiers.evidence.archives import mirrored, open_archive
from verifiers.evidence.seal import entry_path, seal, verify_archive

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

REGION = "us-east-1"
SUITES = ("rds", "redis", "mysql")


@pytest.fixture
def s3_archive(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    client: S3Client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return f"s3://{name}/prod"


@pytest.fixture
def git_archive(tmp_path: Path) -> str:
    remote = tmp_path / "infra.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    return f"git+{remote}#restore-evidence"


@pytest.fixture
def dir_archive(tmp_path: Path) -> str:
    return str(tmp_path / "archive")


@pytest.fixture(params=["dir", "s3", "git"])
def archive_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_archive")
    return url


def workflow_run(tmp_path: Path, archive: str, when: datetime, *, key_pem: Path | None = None,
                 failing: str | None = None) -> list[Path]:
    """One monthly workflow run: a matrix job per suite, each with a fresh reports directory, uploading its run
    (signed by the key when given, as the plugin signs with RESTOREPROOF_SIGNING_KEY); then the last job seals."""
    key = signing.load_private_key(key_pem) if key_pem else None
    made = []
    for suite in SUITES:
        reports = tmp_path / f"job-{uuid.uuid4().hex[:8]}" / "reports"  # a fresh checkout's empty reports/
        made.append(make_run(reports, when, [store_record(suite, "failed" if suite == failing else "passed")],
                             key=key))
        assert main(["evidence", "upload", str(reports), archive]) == 0
    assert main(["evidence", "seal", archive, *(["--signing-key", str(key_pem)] if key_pem else [])]) == 0
    return made


def test_months_of_matrix_jobs_form_one_verified_chain(tmp_path: Path, archive_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, private, public = write_key(tmp_path)
    for month in (1, 2, 3):
        workflow_run(tmp_path, archive_url, at(2026, month), key_pem=private)
    capsys.readouterr()
    assert main(["evidence", "verify", archive_url, "--public-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert "9 runs, each matching its SHA256SUMS; 3 seal entries, the chain unbroken; every run and entry signed" \
        in out, out
    with mirrored(open_archive(archive_url)) as there:
        entries = [json.loads((there / entry_path(n)).read_text()) for n in (1, 2, 3)]
        assert [len(e["runs"]) for e in entries] == [3, 3, 3]
        assert entries[0]["previous"] is None and entries[2]["previous"]["sequence"] == 2
        assert {r["restored"] for e in entries for r in e["runs"]} == {False}  # synthetic runs restore nothing
    # sealing again with nothing new adds no entry
    assert main(["evidence", "seal", archive_url]) == 0
    assert "nothing new to seal (3 entries, every run sealed)" in capsys.readouterr().out
    # an index of the archive lands in it
    assert main(["evidence", "index", archive_url, "--from", "2026-01", "--to", "2026-03"]) == 0
    with mirrored(open_archive(archive_url)) as there:
        index = json.loads((there / "index.json").read_text())
        assert index["integrity"]["ok"] and index["integrity"]["runs"] == 9
        assert (there / "index.html").is_file()


def test_an_unsealed_upload_is_pending_not_broken(tmp_path: Path, dir_archive: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    workflow_run(tmp_path, dir_archive, at(2026, 1))
    reports = tmp_path / "late" / "reports"
    late = make_run(reports, at(2026, 1, 20), [store_record()])
    assert main(["evidence", "upload", str(reports), dir_archive]) == 0
    capsys.readouterr()
    assert main(["evidence", "verify", dir_archive]) == 0
    rel = late.relative_to(reports).as_posix()
    assert f"pending: {rel} was uploaded after the last seal" in capsys.readouterr().out


def tamper_cases() -> dict[str, Callable[[Path, list[Path]], str]]:
    """Each damages a local archive and returns the start of the problem verify must name first."""
    def edit_report(root: Path, runs: list[Path]) -> str:
        rel = f"{runs[1].parent.name}/{runs[1].name}"
        (root / rel / "report.html").write_text("<p>all green</p>\n")
        return f"{rel}/report.html: modified after the run was sealed"

    def delete_run(root: Path, runs: list[Path]) -> str:
        rel = f"{runs[1].parent.name}/{runs[1].name}"
        shutil.rmtree(root / rel)
        return f"{rel}/SHA256SUMS: missing: run {runs[1].name} was deleted or moved"

    def reseal_run(root: Path, runs: list[Path]) -> str:
        """An edited run re-sealed with its own SHA256SUMS: the archive's entry still has the old digest."""
        rel = f"{runs[0].parent.name}/{runs[0].name}"
        (root / rel / "report.html").write_text("<p>all green</p>\n")
        chain.seal_run(root / rel, runs[0].name)
        return f"{rel}/SHA256SUMS: modified after seals/000001.json sealed it"

    def edit_entry(root: Path, runs: list[Path]) -> str:
        path = root / entry_path(1)
        entry = json.loads(path.read_text())
        entry["runs"] = entry["runs"][:1]
        path.write_text(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
        return "seals/000002.json: does not link to entry 1 as it is now"

    def delete_middle_entry(root: Path, runs: list[Path]) -> str:
        (root / entry_path(1)).unlink()
        return "seals/000002.json: expected seals/000001.json next"

    return {"edit-report": edit_report, "delete-run": delete_run, "reseal-run": reseal_run,
            "edit-entry": edit_entry, "delete-entry": delete_middle_entry}


@pytest.mark.parametrize("case", sorted(tamper_cases()))
def test_tampering_is_named(tmp_path: Path, dir_archive: str, case: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    runs = workflow_run(tmp_path, dir_archive, at(2026, 1))
    workflow_run(tmp_path, dir_archive, at(2026, 2))
    expected = tamper_cases()[case](Path(dir_archive), runs)
    capsys.readouterr()
    assert main(["evidence", "verify", dir_archive]) == 1
    out = capsys.readouterr().out
    assert any(line.strip().startswith(expected) for line in out.splitlines()), out
    # a damaged archive is not sealed further
    reports = tmp_path / "next" / "reports"
    make_run(reports, at(2026, 3), [store_record()])
    assert main(["evidence", "upload", str(reports), dir_archive]) in (0, 1)
    assert main(["evidence", "seal", dir_archive]) == 2
    assert "does not verify, so nothing is sealed" in capsys.readouterr().err


def test_a_forged_entry_appended_by_hand_breaks_the_chain(tmp_path: Path, dir_archive: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    workflow_run(tmp_path, dir_archive, at(2026, 1))
    first = json.loads((Path(dir_archive) / entry_path(1)).read_text())
    forged = {**first, "sequence": 2, "previous": {"sequence": 1, "sha256": "0" * 64}, "runs": []}
    (Path(dir_archive) / entry_path(2)).write_text(json.dumps(forged, sort_keys=True, separators=(",", ":")) + "\n")
    capsys.readouterr()
    assert main(["evidence", "verify", dir_archive]) == 1
    assert "seals/000002.json: does not link to entry 1 as it is now" in capsys.readouterr().out


def test_two_seals_racing_make_one_entry_never_a_fork(tmp_path: Path, archive_url: str) -> None:
    for suite in SUITES:
        reports = tmp_path / f"job-{suite}" / "reports"
        make_run(reports, at(2026, 4), [store_record(suite)])
        assert main(["evidence", "upload", str(reports), archive_url]) == 0
    results: list[object] = []
    barrier = threading.Barrier(2)

    def sealer() -> None:
        barrier.wait()
        try:
            results.append(seal(open_archive(archive_url), say=lambda _: None))
        except Exception as exc:  # recorded for the assertion below
            results.append(exc)

    threads = [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 2 and not any(isinstance(r, Exception) for r in results), results
    with mirrored(open_archive(archive_url)) as there:
        report = verify_archive(there)
        assert report.ok, report.problems
        assert report.entries == 1 and report.pending == []


def test_a_writers_staging_files_are_not_mirrored(tmp_path: Path, dir_archive: str) -> None:
    """A directory archive's writer stages each file beside its target (.upload-*) and removes it once linked:
    a seal mirroring the archive meanwhile must neither copy it (a killed writer's would read as evidence added)
    nor fail when it vanishes mid-copy (two racing seals did, on the second's in-flight entry)."""
    workflow_run(tmp_path, dir_archive, at(2026, 4))
    stale = Path(dir_archive) / "seals" / ".upload-left-by-a-killed-writer"
    stale.write_text("half a seal entry")
    with mirrored(open_archive(dir_archive)) as there:
        assert not list(there.rglob(".upload-*"))
        assert verify_archive(there).ok
    assert stale.exists(), "mirroring only reads the archive"


def test_an_archived_run_is_never_overwritten(tmp_path: Path, archive_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    run = make_run(reports, at(2026, 5), [store_record()])
    assert main(["evidence", "upload", str(reports), archive_url]) == 0
    (run / "report.html").write_text("<p>edited</p>\n")
    chain.seal_run(run, run.name)
    capsys.readouterr()
    assert main(["evidence", "upload", str(reports), archive_url]) == 1
    assert "already holds a different run" in capsys.readouterr().out
    with mirrored(open_archive(archive_url)) as there:
        assert "edited" not in (there / run.relative_to(reports) / "report.html").read_text()


def test_an_archive_that_cannot_be_reached_fails_naming_it(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such.git"
    assert main(["evidence", "seal", f"git+{missing}#restore-evidence"]) == 2
    err = capsys.readouterr().err
    assert f"git+{missing}#restore-evidence" in err and "cannot fetch branch restore-evidence" in err
    assert main(["evidence", "verify", str(tmp_path / "nothing-here")]) == 2


def test_freshness_reads_a_remote_archive(tmp_path: Path, git_archive: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The weekly check reads the archive itself: the newest sealed run that restored data decides."""
    record = store_record()
    record["checks"] = [{"check": "restore", "subject": "restore", "passed": True, "observed": "exit 0",
                         "expected": "exit 0, no errors", "message": "restored"}, *record["checks"]]
    reports = tmp_path / "job" / "reports"
    make_run(reports, datetime.now(UTC) - timedelta(days=40), [record])
    assert main(["evidence", "upload", str(reports), git_archive]) == 0
    assert main(["evidence", "seal", git_archive]) == 0
    capsys.readouterr()
    assert main(["evidence", "freshness", git_archive, "--max-age", "35d"]) == 1
    assert capsys.readouterr().out.startswith("STALE: ")
    assert main(["evidence", "freshness", git_archive, "--max-age", "60d"]) == 0
    assert capsys.readouterr().out.startswith("fresh: ")
