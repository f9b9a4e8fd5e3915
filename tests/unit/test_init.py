"""`restoreproof init` (issue 24, item 3): a team's infrastructure repository (a plain folder, not a Python project)
gets a starter inventory.toml, alerts.toml and the monthly CI files, never overwriting one; every example in the
starters validates once uncommented; the CI installs restoreproof by name with the extras the inventory needs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import get_args

import pytest

from tests.ci_support import actionlint, example_blocks, load, schema_check, uncomment
from verifiers import __version__, atomic
from verifiers.alerts.config import parse_alert_config
from verifiers.ci_templates import (
    ALL_EXTRAS,
    KIND_EXTRAS,
    SOURCE_EXTRAS,
    requirement_for,
)
from verifiers.cli import main
from verifiers.errors import EmptyInventoryError, InventoryError
from verifiers.extras import EXTRAS
from verifiers.inventory import load_inventory, parse_inventory
from verifiers.store_settings import AnySource
from verifiers.stores import registry

GITHUB_FILES = ["inventory.toml", "alerts.toml", ".github/workflows/restore-verification.yml",
                ".github/workflows/restore-evidence-freshness.yml", ".github/workflows/restore-drill.yml"]
GITLAB_FILES = ["inventory.toml", "alerts.toml", ".gitlab/ci/restore-verification.yml", ".gitlab-ci.yml"]


def init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["init", *args])
    out, err = capsys.readouterr()
    return code, out, err


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_init_writes_every_file_into_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = init(capsys, "--dir", str(tmp_path))
    assert (code, err) == (0, "")
    assert sorted(contents(tmp_path)) == sorted(GITHUB_FILES)
    assert [line for line in out.splitlines() if line.startswith(("wrote", "skipped"))] == \
        [f"wrote {tmp_path / name}" for name in GITHUB_FILES]
    assert f"restoreproof[{ALL_EXTRAS}]=={__version__}" in out
    assert "restoreproof doctor" in out and "restoreproof verify" in out
    mode = stat.S_IMODE((tmp_path / "inventory.toml").stat().st_mode)
    assert mode == 0o666 & ~current_umask()  # an ordinary file, not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".inventory")] == []  # no temporary left


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_second_run_skips_every_file_and_changes_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    init(capsys, "--dir", str(tmp_path))
    before = contents(tmp_path)
    (tmp_path / "inventory.toml").write_text("# ours now\n")
    before["inventory.toml"] = b"# ours now\n"
    code, out, _ = init(capsys, "--dir", str(tmp_path))
    assert code == 0
    assert contents(tmp_path) == before
    assert [line for line in out.splitlines() if line.startswith(("wrote", "skipped"))] == \
        [f"skipped {tmp_path / name} (exists)" for name in GITHUB_FILES]


def test_an_existing_file_is_skipped_and_the_others_written(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The team's own inventory stays as it is, and the workflow installs the extras its stores need."""
    inventory = ('[[stores]]\nname = "shop"\nkind = "mysql"\nrto = "1h"\nrpo = "1d"\n'
                 'source = { type = "s3", bucket = "acme-backups", pattern = "shop-*.sql.gz" }\n')
    (tmp_path / "inventory.toml").write_text(inventory)
    code, out, _ = init(capsys, "--dir", str(tmp_path))
    assert code == 0
    assert (tmp_path / "inventory.toml").read_text() == inventory
    assert f"skipped {tmp_path / 'inventory.toml'} (exists)" in out.splitlines()
    assert f"wrote {tmp_path / 'alerts.toml'}" in out.splitlines()
    workflow = load(tmp_path / ".github" / "workflows" / "restore-verification.yml")
    assert workflow["env"]["PIP_SPEC"] == \
        f"${{{{ vars.RESTOREPROOF_PIP_SPEC || 'restoreproof[aws,mysql]=={__version__}' }}}}"


def test_gitlab_writes_its_file_and_a_gitlab_ci_yml_including_it(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = init(capsys, "--ci", "gitlab", "--dir", str(tmp_path))
    assert code == 0
    assert sorted(contents(tmp_path)) == sorted(GITLAB_FILES)
    assert load(tmp_path / ".gitlab-ci.yml") == {"include": [{"local": ".gitlab/ci/restore-verification.yml"}]}
    assert "Include .gitlab/ci/restore-verification.yml" not in out  # done already
    for name in (".gitlab/ci/restore-verification.yml", ".gitlab-ci.yml"):
        result = schema_check(tmp_path / name, "vendor.gitlab-ci")
        assert result.returncode == 0, result.stdout


def test_gitlab_never_touches_an_existing_gitlab_ci_yml_and_says_what_to_add(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours = "stages: [test]\nlint:\n  script: [make lint]\n"
    (tmp_path / ".gitlab-ci.yml").write_text(ours)
    code, out, _ = init(capsys, "--ci", "gitlab", "--dir", str(tmp_path))
    assert code == 0
    assert (tmp_path / ".gitlab-ci.yml").read_text() == ours
    assert f"skipped {tmp_path / '.gitlab-ci.yml'} (exists)" in out.splitlines()
    assert "include:\n         - local: .gitlab/ci/restore-verification.yml" in out


@pytest.mark.parametrize("where", ["missing", "a file"])
def test_a_dir_that_is_not_a_folder_is_bad_input(where: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "infra"
    if where == "a file":
        target.write_text("")
    code, out, err = init(capsys, "--dir", str(target))
    assert code == 2 and out == ""
    assert err == f"restoreproof: error: {target} {'does not exist' if where == 'missing' else 'is not a directory'}" \
        " — pass --dir with your repository's folder\n"


def test_a_file_that_cannot_be_created_is_named_after_those_written(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".github").write_text("not a folder")
    code, out, err = init(capsys, "--dir", str(tmp_path))
    assert code == 2
    assert out.splitlines() == [f"wrote {tmp_path / 'inventory.toml'}", f"wrote {tmp_path / 'alerts.toml'}"]
    workflow = tmp_path / ".github" / "workflows" / "restore-verification.yml"
    assert err.startswith(f"restoreproof: error: cannot create {workflow}: ")
    assert len(err.splitlines()) == 1


def test_a_file_created_meanwhile_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process creates the file after the check that it is absent would have run: still kept."""
    target = tmp_path / "inventory.toml"
    real_umask = atomic._umask

    def racing_umask() -> int:  # runs between writing the temporary file and linking it to its name
        target.write_text("theirs\n")
        return real_umask()

    monkeypatch.setattr(atomic, "_umask", racing_umask)
    assert atomic.create_text_exclusively(target, "ours\n") is False
    assert target.read_text() == "theirs\n"
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.toml"]
    monkeypatch.undo()
    fresh = tmp_path / "alerts.toml"
    assert atomic.create_text_exclusively(fresh, "ours\n") is True and fresh.read_text() == "ours\n"


def starter(name: str) -> str:
    return (Path(__file__).resolve().parents[2] / "verifiers" / "templates" / "init" / name).read_text()


def test_each_inventory_example_validates_once_uncommented(tmp_path: Path) -> None:
    text = starter("inventory.toml").replace("@MONGO_URL@", "mongodb://127.0.0.1:27017")
    blocks = example_blocks(text)
    assert len(blocks) >= len(registry.kinds())
    stores = [block for block in blocks if "[[stores]]" in block]
    for block in blocks:
        # [discovery], its ignore entries, [[declared]]: beside a store; [[services]]: beside the stores it names
        beside = stores if "[[services]]" in block else stores[:1]
        if "[[stores]]" not in block:
            block = "\n\n".join([*beside, block])
        inventory = parse_inventory(tomllib.loads(uncomment(block)), tmp_path / "inventory.toml")
        assert len(inventory.stores) == (len(beside) if "[[services]]" in block else 1), block
    everything = parse_inventory(tomllib.loads(uncomment(text)), tmp_path / "inventory.toml")
    assert {store.kind for store in everything.stores} == set(registry.kinds())
    assert everything.discovery is not None and everything.discovery.ignore and everything.declared
    assert [(s.name, s.stores) for s in everything.services] == [("checkout", ["app-db", "orders-rds"])]
    # as written: valid TOML, and the inventory check says what to do (no store uncommented yet)
    (tmp_path / "inventory.toml").write_text(text)
    with pytest.raises(EmptyInventoryError, match=r"inventory.toml: lists no store yet"):
        load_inventory(tmp_path / "inventory.toml")
    # the check can fail: a misspelt field in an example is found
    broken = uncomment(blocks[0]).replace("rpo =", "rpoo =")
    with pytest.raises(InventoryError, match=r"rpo"):
        parse_inventory(tomllib.loads(broken), tmp_path / "inventory.toml")


def test_each_alert_channel_validates_once_uncommented(tmp_path: Path) -> None:
    text = starter("alerts.toml")
    blocks = example_blocks(text)
    delivery, channels, response = blocks[0], blocks[1:-1], blocks[-1]
    assert "[delivery]" in delivery and len(channels) == 4
    types = set()
    for block in channels:
        config = parse_alert_config(tomllib.loads(uncomment(delivery) + uncomment(block)), tmp_path / "alerts.toml")
        (channel,) = config.channels
        assert all(name.endswith(("_URL", "_KEY")) for name in channel.secret_envs())  # by env var name only
        types.add(channel.type)
    assert types == {"slack", "pagerduty", "opsgenie", "webhook"}
    everything = parse_alert_config(tomllib.loads(uncomment(text)), tmp_path / "alerts.toml")
    assert len(everything.channels) == 4 and everything.response is not None
    # the [response] example: both sources, read keys by variable name, not the channels' keys
    settings = parse_alert_config(tomllib.loads(uncomment(response)), tmp_path / "alerts.toml",
                                  channels_required=False).response
    assert settings is not None and settings.pagerduty is not None and settings.opsgenie is not None
    assert (settings.target, settings.share, settings.period) == (3600.0, 100.0, 30 * 86400.0)
    assert (settings.pagerduty.token_env, settings.opsgenie.api_key_env) == ("PAGERDUTY_API_TOKEN",
                                                                            "OPSGENIE_READ_API_KEY")
    assert tomllib.loads(text) == {}  # as written: valid TOML, every channel still commented


def test_the_extras_follow_the_inventorys_kinds_sources_and_sandboxes(tmp_path: Path) -> None:
    def spec(stores: str) -> tuple[str, ...]:
        (tmp_path / "inventory.toml").write_text(stores)
        return requirement_for(tmp_path / "inventory.toml").extras

    store = '[[stores]]\nname = "a"\nkind = "{kind}"\nrto = "1h"\nrpo = "1d"\nsource = {source}\n{extra}'
    file = '{ type = "file", path = "a.dump" }'
    assert spec(store.format(kind="postgres", source=file, extra="")) == ("embedded",)  # a CI runner has no server
    assert spec(store.format(kind="postgres", source='{ type = "rds-snapshot", instance = "db" }', extra="")) == \
        ("aws",)  # restored in RDS: no local server
    assert spec(store.format(kind="redis", source=file, extra='sandbox = "docker"\n')) == ("docker",)
    assert spec(store.format(kind="postgres", source=file, extra='sandbox = "docker"\n')) == \
        ("docker", "embedded")  # pg_restore, the client tool, restores into the container
    assert spec(store.format(kind="mongo", source='{ type = "gcs", bucket = "bkt" }',
                             extra='sandbox = { type = "external", url = "mongodb://m" }\n')) == ("gcp", "mongo")
    assert spec(store.format(kind="mysql", source='{ type = "file", path = "a.sql", manifest = "s3://b/m.json" }',
                             extra="")) == ("aws", "mysql")
    assert spec(store.format(kind="toy", source=file, extra="")) == (ALL_EXTRAS,)  # a kind this release cannot place
    assert spec("[[stores]\n") == (ALL_EXTRAS,)  # not TOML
    (tmp_path / "inventory.toml").unlink()
    assert requirement_for(tmp_path / "inventory.toml").extras == (ALL_EXTRAS,)


def test_every_kind_and_source_type_has_its_extras() -> None:
    """A new kind or source type must say what it needs installed in CI (verifiers/ci_templates.py)."""
    assert set(KIND_EXTRAS) == set(registry.kinds())
    assert set(SOURCE_EXTRAS) == {get_args(model.model_fields["type"].annotation)[0] for model in get_args(AnySource)}
    assert {extra for extras in [*KIND_EXTRAS.values(), *SOURCE_EXTRAS.values()] for extra in extras} <= set(EXTRAS)


def test_a_team_runs_init_in_its_own_repository(tmp_path: Path) -> None:
    """As a user would: the installed command in a plain folder (no pyproject.toml, no clone of ours); the
    workflow it writes lints clean, `restoreproof inventory` on the untouched starter says what is missing, and
    `restoreproof doctor` (the next step it names) checks the machine."""
    def restoreproof(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "verifiers.cli", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, check=False)

    done = restoreproof("init")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote inventory.toml\nwrote alerts.toml\n")
    lint = actionlint(*(tmp_path / ".github" / "workflows").glob("*.yml"))
    assert lint.returncode == 0, lint.stdout
    checked = restoreproof("inventory")
    assert checked.returncode == 2
    assert "inventory.toml: lists no store yet" in checked.stderr and "uncomment" in checked.stderr
    doctor = restoreproof("doctor")  # the next step init names: the machine is checked, the empty starter said
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "Inventory inventory.toml: lists no store yet" in doctor.stdout
    again = restoreproof("init")
    assert again.returncode == 0 and "wrote" not in again.stdout


def test_suites_as_a_gitlab_pipeline_needs_restoreproofs_ci_file(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "a"\nkind = "redis"\nrto = "1h"\nrpo = "1d"\n'
                         'source = { type = "file", path = "a.rdb" }\n')
    base = ["suites", "--inventory", str(inventory), "--format", "gitlab-pipeline"]
    assert main(base) == 2
    assert "needs --gitlab-ci-file" in capsys.readouterr().err
    assert main([*base, "--gitlab-ci-file", str(tmp_path / "nope.yml")]) == 2
    assert "nope.yml does not exist" in capsys.readouterr().err
    (tmp_path / "other.yml").write_text("lint:\n  script: [make]\n")
    assert main([*base, "--gitlab-ci-file", str(tmp_path / "other.yml")]) == 2
    assert "defines no .restoreproof-verify job" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main([*base, "--service-image", "mongo"])
    assert exited.value.code == 2
    assert "expected SUITE=IMAGE" in capsys.readouterr().err


def test_the_templates_are_package_data() -> None:
    """Every template ships in the wheel: pyproject.toml's package-data globs match each file under
    verifiers/templates/init/ (a template they missed would be absent from `pip install restoreproof`)."""
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["verifiers"]
    templates = [p.relative_to(root / "verifiers") for p in (root / "verifiers" / "templates").rglob("*")
                 if p.is_file()]
    assert len(templates) == 7
    assert [str(t) for t in templates if not any(t.match(glob) and len(t.parts) == len(Path(glob).parts)
                                                  for glob in globs)] == []
