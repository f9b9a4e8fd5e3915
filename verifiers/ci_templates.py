"""The files `restoreproof init` writes into a team's repository, rendered from the templates packaged in
verifiers/templates/init/ (the one source of the CI files: this repository keeps no copy of them).

A template is the file itself with a few `@NAME@` placeholders (not Jinja: GitHub's `${{ }}` and the shells' `$`
would need escaping everywhere): the pip requirement the CI installs, restoreproof's version, where the GitLab
file lives and the MongoDB service's address in that CI.

The pip requirement pins this release and names the extras the inventory needs, read from an inventory.toml that
is already there (its stores' kinds, sources and sandboxes, as raw TOML: an inventory that does not validate yet
still says what it uses); with no inventory, or one naming a kind or source not known here, every extra (`all`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from verifiers import __version__
from verifiers.extras import EXTRAS

CiKind = Literal["github", "gitlab"]
CI_KINDS: tuple[CiKind, ...] = ("github", "gitlab")
INVENTORY = PurePosixPath("inventory.toml")
ALERTS = PurePosixPath("alerts.toml")
GITHUB_WORKFLOWS = PurePosixPath(".github/workflows")
GITLAB_CI_FILE = PurePosixPath(".gitlab/ci/restore-verification.yml")
GITLAB_ROOT_FILE = PurePosixPath(".gitlab-ci.yml")
ALL_EXTRAS = "all"
IacKind = Literal["aws"]
IAC_KINDS: tuple[IacKind, ...] = ("aws",)
AWS_IAC_FILE = PurePosixPath("infra/restoreproof/aws-restoreproof.yml")

# What a store needs installed beyond the core (postgres, redis: the core itself), by kind and by source type.
KIND_EXTRAS: dict[str, tuple[str, ...]] = {
    "postgres": (), "redis": (), "mysql": ("mysql",), "mongo": ("mongo",), "s3": ("aws",), "dynamodb": ("aws",),
    "gcs": ("gcp",), "azure-blob": ("azure",),
}
SOURCE_EXTRAS: dict[str, tuple[str, ...]] = {
    "file": (), "s3": ("aws",), "rds-snapshot": ("aws",), "s3-bucket": ("aws",), "dynamodb-backup": ("aws",),
    "gcs": ("gcp",), "gcs-bucket": ("gcp",), "azure-blob": ("azure",), "azure-container": ("azure",),
    "cloudsql-backup": ("gcp",), "aws-backup": ("aws",),
}
# A manifest kept apart from the backup, fetched by its URL's scheme.
MANIFEST_EXTRAS = {"s3://": "aws", "gs://": "gcp"}
# A CI runner has neither PostgreSQL nor Valkey: the `embedded` extra's wheels bring both, PostgreSQL with its
# client tools, which a postgres store restores with into any sandbox (pg_restore over TCP into a docker or
# external one); a redis store needs the server only for a local sandbox. MySQL's job installs MariaDB from the
# distribution; a mongo store uses the job's service container. A store from an rds-snapshot
# (cloudsql-backup) restores in RDS (Cloud SQL).
EMBEDDED_NEEDED_BY = {"postgres": frozenset({"local", "docker", "external"}), "redis": frozenset({"local"})}
SERVICE_SOURCES = frozenset({"rds-snapshot", "cloudsql-backup", "aws-backup"})
MONGO_URLS: dict[CiKind, str] = {"github": "mongodb://127.0.0.1:27017", "gitlab": "mongodb://mongo:27017"}
_PLACEHOLDER = re.compile(r"@[A-Z][A-Z_]*@")


@dataclass(frozen=True)
class StarterFile:
    """One file `init` offers: where it goes in the repository and what it holds."""

    path: PurePosixPath
    text: str


@dataclass(frozen=True)
class Requirement:
    """What the CI pip-installs, and why those extras."""

    extras: tuple[str, ...]
    reason: str

    @property
    def pip_spec(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"restoreproof{extras}=={__version__}"


def requirement_for(inventory: Path) -> Requirement:
    """The extras the stores of `inventory` need in CI, or every extra when it is absent or not understood."""
    try:
        raw = tomllib.loads(inventory.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Requirement((ALL_EXTRAS,), f"no {inventory.name} yet: every extra")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Requirement((ALL_EXTRAS,), f"{inventory} could not be read ({exc}): every extra")
    stores = raw.get("stores")
    if not isinstance(stores, list) or not stores:
        return Requirement((ALL_EXTRAS,), f"{inventory} lists no store yet: every extra")
    needed: set[str] = set()
    for store in stores:
        extras = store_extras(store) if isinstance(store, dict) else None
        if extras is None:
            return Requirement((ALL_EXTRAS,), f"{inventory} has a store this release cannot place: every extra")
        needed |= extras
    ordered = tuple(extra for extra in EXTRAS if extra in needed)
    kinds = sorted({str(store.get("kind")) for store in stores})
    return Requirement(ordered, f"for the kinds in {inventory} ({', '.join(kinds)})")


def store_extras(store: Mapping[str, Any]) -> set[str] | None:
    """The extras one inventory store needs, or None for a kind, source or sandbox this release does not know."""
    kind, source, sandbox = store.get("kind"), store.get("source"), store.get("sandbox", "local")
    source_type = source.get("type") if isinstance(source, dict) else None
    sandbox_type = sandbox.get("type", "local") if isinstance(sandbox, dict) else sandbox
    if kind not in KIND_EXTRAS or source_type not in SOURCE_EXTRAS or sandbox_type not in (
            "local", "docker", "external"):
        return None
    needed = {*KIND_EXTRAS[str(kind)], *SOURCE_EXTRAS[str(source_type)]}
    manifest = source.get("manifest") if isinstance(source, dict) else None
    needed |= {extra for scheme, extra in MANIFEST_EXTRAS.items() if str(manifest or "").startswith(scheme)}
    if sandbox_type == "docker":
        needed.add("docker")
    if sandbox_type in EMBEDDED_NEEDED_BY.get(str(kind), ()) and source_type not in SERVICE_SOURCES:
        needed.add("embedded")
    return needed


def starter_files(ci: CiKind, requirement: Requirement) -> list[StarterFile]:
    """Every file `init --ci CI` writes, rendered, in the order it reports them."""
    values = {"PIP_SPEC": requirement.pip_spec, "VERSION": __version__, "GITLAB_CI_FILE": str(GITLAB_CI_FILE),
              "MONGO_URL": MONGO_URLS[ci]}
    starters = [StarterFile(INVENTORY, render("inventory.toml", values)),
                StarterFile(ALERTS, render("alerts.toml", values))]
    if ci == "github":
        starters += [StarterFile(GITHUB_WORKFLOWS / name, render(f"github/{name}", values))
                     for name in ("restore-verification.yml", "restore-evidence-freshness.yml", "restore-drill.yml")]
    else:
        starters += [StarterFile(GITLAB_CI_FILE, render("gitlab/restore-verification.yml", values)),
                     StarterFile(GITLAB_ROOT_FILE, gitlab_root_file())]
    return starters


def iac_files(iac: IacKind) -> list[StarterFile]:
    """What `init --iac aws` writes: the CloudFormation template of the runner's network path and the OIDC role."""
    return [StarterFile(AWS_IAC_FILE, render("aws/aws-restoreproof.yml", {"VERSION": __version__}))]


def gitlab_root_file() -> str:
    """A .gitlab-ci.yml for a project that has none: the include line alone."""
    return (f"# Written by `restoreproof init`: the monthly restore verification ({GITLAB_CI_FILE}).\n"
            f"{gitlab_include()}")


def gitlab_include() -> str:
    return f"include:\n  - local: {GITLAB_CI_FILE}\n"


def render(template: str, values: Mapping[str, str]) -> str:
    """A packaged template with its `@NAME@` placeholders filled in; a placeholder without a value is a bug."""
    text = files("verifiers").joinpath("templates", "init", *template.split("/")).read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = sorted(set(_PLACEHOLDER.findall(text)))
    if left:
        raise ValueError(f"template {template}: no value for {', '.join(left)}")
    return text
