"""Where mongoeco is (a MongoDB wire-protocol server written in Python, not MongoDB), and whether it can serve: no
server started, no driver imported (`restoreproof doctor` asks this without the mongo extra).

mongoeco needs Python >= 3.13, which the harness itself does not, so it lives in its own virtualenv (`make
mongoeco` makes .cache/mongoeco). Its interpreter, in order: `sandbox.bin_dir`'s `python`, then
RESTOREPROOF_MONGOECO_PYTHON. There is no fallback to PATH, nor from a missing mongod to mongoeco: a store is
restored into it only when its inventory says `server = "mongoeco"`.

The interpreter is asked (isolated, -I) for mongoeco's and pymongo's versions and where they are installed, and
for the real interpreter behind the virtualenv with its tree, which wire_server.py stages for the sandbox user
when that user cannot reach them (a virtualenv under a 0700 clone, a pyenv Python under /root).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.process import run_as

PYTHON_ENV = "RESTOREPROOF_MONGOECO_PYTHON"
WHAT_IT_IS = "MongoDB wire-protocol server in Python, not MongoDB"
MINIMUM_VERSION = (4, 11)
MINIMUM_PYTHON = (3, 13)
_RELEASE = re.compile(r"\d+(\.\d+)*")
INSTALL_HINT = ("run `make mongoeco` in a restoreproof checkout (a virtualenv in .cache/mongoeco from a Python >= "
                "3.13 with `pip install mongoeco==4.11.0 pymongo==4.20.1`), then set RESTOREPROOF_MONGOECO_PYTHON to "
                "its bin/python, or sandbox.bin_dir to its bin/")
# Run by the interpreter under test, isolated: facts only, as one JSON line.
_PROBE = """\
import json, os, sys
try:
    import importlib.metadata as m
except ImportError:  # before 3.8: answered anyway, so that the version is what the refusal names
    m = None
def dist(name):
    try:
        found = m.distribution(name)
    except (AttributeError, getattr(m, "PackageNotFoundError", LookupError)):
        return None
    return {"version": found.version, "site": os.path.realpath(found.locate_file(""))}
print(json.dumps({"python": list(sys.version_info[:3]), "base_prefix": os.path.realpath(sys.base_prefix),
                  "executable": os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
                  "mongoeco": dist("mongoeco"), "pymongo": dist("pymongo")}))
"""


@dataclass(frozen=True)
class MongoecoInstallation:
    """A usable mongoeco: the interpreter it was found by, the real interpreter and its tree (`base_prefix`),
    and the site-packages directories holding mongoeco and pymongo."""

    python: Path
    origin: str  # "sandbox.bin_dir" or RESTOREPROOF_MONGOECO_PYTHON
    version: str
    pymongo: str
    python_version: str
    interpreter: Path
    base_prefix: Path
    sites: tuple[Path, ...]

    def describe(self) -> str:
        return f"mongoeco {self.version} (Python {self.python_version}, {self.python})"


def find_python(bin_dir: str | None) -> tuple[Path, str] | None:
    """The configured interpreter and where it was configured, or None."""
    if bin_dir:
        return Path(bin_dir) / "python", "sandbox.bin_dir"
    named = os.environ.get(PYTHON_ENV)
    return (Path(named), PYTHON_ENV) if named else None


def mongoeco_installation(bin_dir: str | None) -> MongoecoInstallation:
    """The mongoeco `bin_dir` or RESTOREPROOF_MONGOECO_PYTHON names; NoSuitableServerError, saying what is wrong
    and how to install it, when there is none or it cannot serve."""
    found = find_python(bin_dir)
    if found is None:
        raise NoSuitableServerError(f"no mongoeco interpreter configured (sandbox.bin_dir is not set and "
                                    f"{PYTHON_ENV} is empty)", hint=INSTALL_HINT)
    python, origin = found
    if not python.is_file():
        raise NoSuitableServerError(f"the mongoeco interpreter {python} ({origin}) does not exist", hint=INSTALL_HINT)
    try:
        result = run_as([str(python), "-I", "-c", _PROBE], None, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NoSuitableServerError(f"the mongoeco interpreter {python} ({origin}) cannot be run: {exc}",
                                    hint=INSTALL_HINT) from None
    try:
        facts = json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None
    except (ValueError, IndexError):
        facts = None
    if not isinstance(facts, dict):
        detail = (result.stderr or result.stdout).strip()[-300:]
        raise NoSuitableServerError(f"the mongoeco interpreter {python} ({origin}) did not answer (exit "
                                    f"{result.returncode}): {detail}", hint=INSTALL_HINT)
    return _judged(python, origin, facts)


def _judged(python: Path, origin: str, facts: dict[str, object]) -> MongoecoInstallation:
    where = f"{python} ({origin})"
    reported = facts.get("python")
    version_info = tuple(int(str(part)) for part in reported) if isinstance(reported, list) else ()
    python_version = ".".join(map(str, version_info))
    if version_info < MINIMUM_PYTHON:
        raise NoSuitableServerError(f"{where} is Python {python_version}; mongoeco needs Python >= 3.13",
                                    hint=INSTALL_HINT)
    mongoeco, pymongo = facts.get("mongoeco"), facts.get("pymongo")
    if not isinstance(mongoeco, dict):
        raise NoSuitableServerError(f"mongoeco is not installed in {where}", hint=INSTALL_HINT)
    version = str(mongoeco["version"])
    if _release(version) < MINIMUM_VERSION:
        raise NoSuitableServerError(f"{where} has mongoeco {version}; the sandbox needs mongoeco >= "
                                    f"{'.'.join(map(str, MINIMUM_VERSION))}", hint=INSTALL_HINT)
    if not isinstance(pymongo, dict):
        raise NoSuitableServerError(f"{where} has mongoeco {version} but not pymongo, which mongoeco needs at run "
                                    "time without declaring it (every request would fail inside the server)",
                                    hint=INSTALL_HINT)
    sites = tuple(dict.fromkeys(Path(str(dist["site"])) for dist in (mongoeco, pymongo)))
    return MongoecoInstallation(python=python, origin=origin, version=version, pymongo=str(pymongo["version"]),
                                python_version=python_version, interpreter=Path(str(facts.get("executable"))),
                                base_prefix=Path(str(facts.get("base_prefix"))), sites=sites)


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: "4.11.0rc1" -> (4, 11, 0)."""
    match = _RELEASE.match(version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()
