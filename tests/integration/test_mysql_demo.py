"""The demo's MySQL store: `fixtures.build_demo` builds the shop backup from code and the repository's own
inventory.toml verifies it; without a MariaDB/MySQL server the build says what to install and skips it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures import build_demo
from tests.conftest import failed
from tests.mysql_support import MysqlCapture
from verifiers.inventory import load_inventory
from verifiers.runner import plan_store, run_store

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_inventory_verifies_the_shop_backup_build_demo_makes(
        tmp_path: Path, mysql_capture: MysqlCapture) -> None:
    shutil.copy(ROOT / "inventory.toml", tmp_path / "inventory.toml")
    out = tmp_path / "fixtures" / "snapshots"
    out.mkdir(parents=True)
    (out / "shop-20200101T000000Z.sql.gz").write_bytes(b"an older demo backup")
    assert build_demo.build_mysql_demo(out) == 0
    (dump,) = out.glob("shop-*.sql.gz")
    assert dump.name != "shop-20200101T000000Z.sql.gz"
    (manifest,) = out.glob("shop-*.manifest.json")
    # Built from seeded code: the same facts as the tests' own build of fixtures/mysql_demo.py.
    facts = json.loads(manifest.read_text())["facts"]
    captured = json.loads(mysql_capture.manifest.read_text())["facts"]
    assert {t: (f["rows"], f["checksum"]) for t, f in facts["tables"].items()} == \
        {t: (f["rows"], f["checksum"]) for t, f in captured["tables"].items()}
    inventory = load_inventory(tmp_path / "inventory.toml")
    (shop,) = [s for s in inventory.stores if s.kind == "mysql"]
    assert (shop.name, shop.suite_name) == (build_demo.SHOP, "mysql")
    outcome = run_store(plan_store(shop, inventory.base_dir))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    assert {c.subject for c in outcome.checks if c.check == "assertion"} == {a.name for a in shop.assertions} != set()


def test_without_a_mysql_server_the_build_skips_the_shop_and_names_the_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """What a fresh machine with only pip sees: exit 0, no shop backup (so `make demo` leaves suites/mysql out),
    and one line saying what to install."""
    monkeypatch.setattr(build_demo, "find_mysql_installations", lambda configured, user: ())
    (tmp_path / "shop-20200101T000000Z.sql.gz").write_bytes(b"a stale demo backup")
    assert build_demo.build_mysql_demo(tmp_path) == 0
    assert list(tmp_path.glob("shop-*")) == []
    err = capsys.readouterr().err
    assert err.startswith("skipped the MySQL demo store (shop): no MariaDB/MySQL server")
    assert "apt-get install mariadb-server" in err and "Traceback" not in err
