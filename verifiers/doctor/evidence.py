"""Where this machine's evidence would go, and who would sign it: the ARCHIVE (--archive, else env
RESTOREPROOF_EVIDENCE_ARCHIVE) and the signing key (--signing-key, else env RESTOREPROOF_SIGNING_KEY).

A local directory is checked by creating (and removing) a file in it, as an upload would. An s3:// or git
archive is resolved offline (its extra, credentials, the remote a git: branch lives on); whether it answers is
asked only with `probe` (S3 HeadBucket, `git ls-remote`, each with a short timeout), so that `doctor` stays quick
and quiet without a network. Either one configured but unusable is a failure: the run would end without its
evidence uploaded or signed. Neither configured is only a warning: evidence then stays in reports/, unsigned."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from verifiers.diagnosis import Finding, fail, ok, warn
from verifiers.doctor.cloud import aws_findings, extra_finding, head_bucket
from verifiers.errors import EvidenceError
from verifiers.evidence.archive import S3Location
from verifiers.evidence.archive_git import GitArchive
from verifiers.evidence.defaults import ARCHIVE_ENV, KEY_ENV
from verifiers.evidence.signing import key_id, load_private_key
from verifiers.redaction import redact_secrets

GIT_TIMEOUT = 15  # seconds for `git ls-remote`
ARCHIVE_HINT = (f"set {ARCHIVE_ENV} (or --archive) to s3://BUCKET/PREFIX, git:BRANCH or a directory "
                "(docs/evidence.md, \"The archive\")")
KEY_HINT = (f"openssl genpkey -algorithm ed25519 -out signing.pem, then set {KEY_ENV} (or --signing-key) to its "
            "path (docs/evidence.md)")


def archive_findings(url: str | None, *, probe: bool) -> list[Finding]:
    if not url:
        return [warn("archive", f"none configured (--archive, env {ARCHIVE_ENV}): runs stay in reports/ only",
                     ARCHIVE_HINT)]
    if url.startswith("s3://"):
        return _s3(url, probe=probe)
    if url.startswith(("git:", "git+")):
        return _git(url, probe=probe)
    return [_directory(Path(url))]


def _directory(root: Path) -> Finding:
    """Writable as an upload writes: a file created in it (or, for a new archive, in the directory it will be
    made in, as the first upload makes it) and removed."""
    if root.exists() and not root.is_dir():
        return fail("archive", f"{root}: not a directory", ARCHIVE_HINT)
    where = root if root.is_dir() else root.parent
    if not where.is_dir():
        return fail("archive", f"{root}: no such directory, nor its parent",
                    "create the directory (an empty one is an empty archive), or check the path")
    try:
        handle, probe_file = tempfile.mkstemp(prefix=".restoreproof-doctor-", dir=where)
    except OSError as exc:
        return fail("archive", f"{root}: cannot write in {where}: {exc.strerror}",
                    "check the path and its permissions (the user running restoreproof must create files there)")
    os.close(handle)
    Path(probe_file).unlink()
    return ok("archive", f"{root}: a writable directory" if root.is_dir()
              else f"{root}: will be created in {where} on the first upload (writable)")


def _s3(url: str, *, probe: bool) -> list[Finding]:
    try:
        location = S3Location.parse(url)
    except EvidenceError as exc:
        return [fail("archive", exc.message, exc.hint)]
    if missing := extra_finding("aws", f"the s3 archive {url}"):
        return [missing]
    access = [f for f in aws_findings(None, None, probe=probe) if f.subject != "region"]  # S3 needs none
    relabelled = [Finding(f.status, f"archive {f.subject}", f.detail, f.hint) for f in access]
    failed = [f for f in access if f.status == "fail"]
    if failed:
        return [fail("archive", f"{url}: cannot be reached: {failed[0].detail}", failed[0].hint), *relabelled]
    if not probe:
        return [ok("archive", f"{url}; whether the bucket answers is not checked (--probe asks S3)"), *relabelled]
    answer = head_bucket(location.bucket, region=None, endpoint_url=None, subject="archive", what=url,
                         actions="s3:ListBucket, s3:GetObject and s3:PutObject on the archive",
                         missing="create the bucket (docs/evidence.md: with Object Lock), or correct the URL")
    return [answer, *relabelled]


def _git(url: str, *, probe: bool) -> list[Finding]:
    if shutil.which("git") is None:
        return [fail("archive", f"{url}: git is not installed", "install git (the distribution's git package)")]
    try:
        archive = GitArchive.parse(url)
    except EvidenceError as exc:
        return [fail("archive", redact_secrets(exc.message), exc.hint)]
    remote = redact_secrets(archive.remote)
    if not probe:
        return [ok("archive", f"{url}: branch {archive.branch} of {remote}; whether the remote answers is not "
                   "checked (--probe runs git ls-remote)")]
    # fail rather than ask for a password: no prompt from git, and no terminal for ssh to open (a new session)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        answer = subprocess.run(["git", "ls-remote", "--heads", archive.remote, archive.branch], capture_output=True,
                                text=True, timeout=GIT_TIMEOUT, env=env, stdin=subprocess.DEVNULL, check=False,
                                start_new_session=True)
    except subprocess.TimeoutExpired:
        return [fail("archive", f"{url}: {remote} did not answer within {GIT_TIMEOUT}s",
                     "check the network path to the remote")]
    if answer.returncode != 0:
        said = redact_secrets(" ".join(answer.stderr.split())[-300:])
        return [fail("archive", f"{url}: git ls-remote {remote} failed: {said}",
                     "check the remote's URL and that this machine's git credentials may push to it")]
    state = "exists" if answer.stdout.strip() else "does not exist yet (the first upload creates it)"
    return [ok("archive", f"{url}: {remote} answers; branch {archive.branch} {state}")]


def signing_key_finding(given: Path | None) -> Finding:
    """The key that would sign each run: readable, an unencrypted Ed25519 private key; its public key's id (the
    fingerprint evidence.json records). A key others can read is a warning."""
    origin = "--signing-key"
    if given is None and os.environ.get(KEY_ENV):
        given, origin = Path(os.environ[KEY_ENV]), KEY_ENV
    if given is None:
        return warn("signing key", f"none configured (--signing-key, env {KEY_ENV}): evidence will not be signed",
                    KEY_HINT)
    try:
        key = load_private_key(given)
    except EvidenceError as exc:
        return fail("signing key", f"{exc.message} (from {origin})", exc.hint)
    detail = f"{given} (from {origin}): Ed25519, key id {key_id(key.public_key())}"
    mode = stat.S_IMODE(given.stat().st_mode)
    if mode & 0o077:
        return warn("signing key", f"{detail}; readable by others (mode {mode:04o})", f"chmod 600 {given}")
    return ok("signing key", detail)
