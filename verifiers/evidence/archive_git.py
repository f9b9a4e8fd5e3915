"""An archive on a git branch (`git:BRANCH` — a branch of this repository's `origin`, as a CI workflow pushes its
evidence to a `restore-evidence` branch of its own repository — or `git+REMOTE#BRANCH`): kept with history,
beyond any CI artifact retention, for teams without a bucket.

Each publish is one commit on the branch's tip, pushed without force: a push that is not a fast-forward (another
job published first) is rejected by the remote, so nothing is ever overwritten. Then the branch is fetched again,
the paths are checked against the new tip (the same bytes are fine, other bytes a conflict) and the commit is
made anew, a bounded number of times. The branch is created (without history of the repository's code) when it
does not exist yet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from verifiers.errors import EvidenceError
from verifiers.evidence.archive import REPLACEABLE, ArchiveConflict

PUSH_ATTEMPTS = 5
AUTHOR = {"GIT_AUTHOR_NAME": "restoreproof", "GIT_AUTHOR_EMAIL": "restoreproof@localhost",
          "GIT_COMMITTER_NAME": "restoreproof", "GIT_COMMITTER_EMAIL": "restoreproof@localhost"}


class GitArchive:
    def __init__(self, remote: str, branch: str, *, url: str) -> None:
        self.remote = remote
        self.branch = branch
        self.url = url

    @classmethod
    def parse(cls, url: str, *, cwd: Path | None = None) -> GitArchive:
        if url.startswith("git+"):
            remote, _, branch = url[4:].rpartition("#")
            if not remote or not branch:
                raise EvidenceError(f"archive {url!r}: a git archive is git+REMOTE#BRANCH",
                                    hint="e.g. git+https://github.com/org/infra.git#restore-evidence")
            return cls(remote, branch, url=url)
        branch = url.removeprefix("git:")
        if not branch:
            raise EvidenceError(f"archive {url!r}: name the branch", hint="e.g. git:restore-evidence")
        found = _git(["remote", "get-url", "origin"], cwd=cwd or Path.cwd(), check=False)
        if found.returncode != 0:
            raise EvidenceError(f"archive {url}: not in a git repository with an `origin` remote "
                                f"({found.stderr.strip()})", hint="run it in the repository's checkout, or write "
                                "git+REMOTE#BRANCH")
        return cls(found.stdout.strip(), branch, url=url)

    def mirror(self, into: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="restoreproof-git-") as work:
            checkout = self._checkout(Path(work))
            shutil.copytree(checkout, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))

    def publish(self, files: Mapping[str, Path], *, message: str) -> None:
        for _ in range(PUSH_ATTEMPTS):
            with tempfile.TemporaryDirectory(prefix="restoreproof-git-") as work:
                checkout = self._checkout(Path(work))
                if not self._stage(checkout, files):
                    return  # every path already there with these bytes
                _git(["commit", "--quiet", "--no-verify", "-m", message], cwd=checkout, env=AUTHOR)
                pushed = _git(["push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}"], cwd=checkout,
                              check=False)
                if pushed.returncode == 0:
                    return
                if not _rejected(pushed.stderr):
                    raise EvidenceError(f"archive {self.url}: push failed: {pushed.stderr.strip()[-500:]}",
                                        hint="check the remote's URL and that the job may push to it (on GitHub: "
                                             "`permissions: contents: write`)")
        raise ArchiveConflict(f"archive {self.url}: the branch kept moving: {PUSH_ATTEMPTS} pushes were rejected",
                              hint="run it again once the other jobs are done")

    def _checkout(self, work: Path) -> Path:
        checkout = work / "branch"
        cloned = _git(["clone", "--quiet", "--single-branch", "--branch", self.branch, "--depth", "1", self.remote,
                       str(checkout)], cwd=work, check=False)
        if cloned.returncode == 0:
            return checkout
        if "not found" not in cloned.stderr and "Could not find remote branch" not in cloned.stderr:
            raise EvidenceError(f"archive {self.url}: cannot fetch branch {self.branch} of {self.remote}: "
                                f"{cloned.stderr.strip()[-500:]}", hint="check the remote's URL and access")
        # no such branch yet: an empty one, without the repository's history
        checkout.mkdir()
        _git(["init", "--quiet", "--initial-branch", self.branch], cwd=checkout)
        _git(["remote", "add", "origin", self.remote], cwd=checkout)
        return checkout

    def _stage(self, checkout: Path, files: Mapping[str, Path]) -> bool:
        """Copy the files in; False when every one is already there with the same bytes."""
        changed = False
        for rel, source in files.items():
            target = checkout / rel
            if target.is_file() and rel not in REPLACEABLE:
                if target.read_bytes() != source.read_bytes():
                    raise ArchiveConflict(f"archive {self.url}: {rel} already exists with other content; archived "
                                          "evidence is never overwritten")
                continue
            if target.is_file() and target.read_bytes() == source.read_bytes():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            _git(["add", "--", rel], cwd=checkout)
            changed = True
        return changed


def _rejected(stderr: str) -> bool:
    return any(word in stderr for word in ("rejected", "non-fast-forward", "fetch first", "stale info"))


def _git(argv: list[str], *, cwd: Path, check: bool = True,
         env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    result = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True, env=full, check=False,
                            timeout=300)
    if check and result.returncode != 0:
        raise EvidenceError(f"git {argv[0]} failed: {result.stderr.strip()[-500:]}",
                            hint="check that git is installed and the archive's remote is reachable")
    return result
