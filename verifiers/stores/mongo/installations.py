"""Where `mongod` is, and which version it is (no server started, no driver imported: `restoreproof doctor` asks
this without the mongo extra).

Binaries, in order: `sandbox.bin_dir`, RESTOREPROOF_MONGO_BIN_DIR, PATH. No wheel ships mongod, and Debian
has no package for it: where none is found the store's restore check fails saying what to install (or to
use `sandbox = "docker"`).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.process import run_as

_VERSION = re.compile(r"db version v?(\d+\.\d+[\w.+-]*)")
INSTALL_HINT = ("install MongoDB's server (mongod) and put it on PATH or in sandbox.bin_dir / "
                "RESTOREPROOF_MONGO_BIN_DIR, or set sandbox = \"docker\" where a Docker engine runs")


@dataclass(frozen=True)
class MongodInstallation:
    mongod: Path
    version: str

    def describe(self) -> str:
        return f"mongod {self.version} ({self.mongod})"


def find_mongod(bin_dir: str | None) -> Path | None:
    for directory in (bin_dir, os.environ.get("RESTOREPROOF_MONGO_BIN_DIR")):
        if directory and (Path(directory) / "mongod").is_file():
            return Path(directory) / "mongod"
    found = shutil.which("mongod")
    return Path(found) if found else None


def installation(bin_dir: str | None) -> MongodInstallation:
    mongod = find_mongod(bin_dir)
    if mongod is None:
        where = f"{bin_dir}, " if bin_dir else ""
        raise NoSuitableServerError(f"no mongod found (looked in {where}RESTOREPROOF_MONGO_BIN_DIR and PATH)",
                                    hint=INSTALL_HINT)
    result = run_as([str(mongod), "--version"], None, timeout=60)
    match = _VERSION.search(result.stdout + result.stderr)
    if result.returncode != 0 or not match:
        raise NoSuitableServerError(f"{mongod} --version did not report a version (exit {result.returncode})",
                                    hint=INSTALL_HINT)
    return MongodInstallation(mongod=mongod, version=match.group(1))
