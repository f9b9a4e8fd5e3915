"""Safety: capture cannot write to production, and secrets (DSN passwords, AWS keys, webhook URLs) and row
contents (the planted markers of each demo dataset) never reach logs, reports or evidence."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymysql
import pytest

from fixtures import mysql_demo, redis_demo, saas_demo
from tests.conftest import Capture
from tests.faults.slow import claim
from tests.mysql_support import SOURCE_DB, MysqlCapture, source_dsn
from tests.redis_support import RedisCapture
from verifiers.cli import EXIT_USAGE, main
from verifiers.stores.mysql import measure as mysql_measure
from verifiers.stores.mysql.capture import capture_mysql
from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.postgres.archive import major_of, read_header
from verifiers.stores.postgres.local_server import find_installations

BIN = Path(sys.executable).parent
PASSWORD = "Pl4nted-DSN-pw-0xC0FFEE"
SECRETS = {  # environment a CI job really has while it verifies
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEY000001",
    "AWS_SECRET_ACCESS_KEY": "planted/aws+secret+key/0000000000000000001",
    "AWS_SESSION_TOKEN": "planted-aws-session-token-000000000000000001",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0PLANTED/B0PLANTED/plantedwebhooksecret01",
    "PGPASSWORD": PASSWORD,
}
MARKERS = (saas_demo.MARKER, redis_demo.MARKER, mysql_demo.MARKER)


# ------------------------------------------------------------------ capture cannot write

def test_mysql_capture_session_refuses_writes(mysql_source: MysqlServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is measured in a READ ONLY transaction: a write in that same session is refused."""
    real = mysql_measure.measure_database
    refused: list[int] = []

    def measure_after_trying_to_write(cur: Any, database: str, **kwargs: Any) -> Any:
        try:
            cur.execute(f"DELETE FROM `{database}`.`users` WHERE 1 = 0")  # noqa: S608 - our own constant
        except pymysql.err.MySQLError as exc:
            refused.append(exc.args[0])
        return real(cur, database, **kwargs)

    monkeypatch.setattr(mysql_measure, "measure_database", measure_after_trying_to_write)
    capture_mysql(source_dsn(mysql_source), tmp_path)
    assert refused == [1792]  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION


def test_mysql_capture_needs_no_write_privilege(mysql_source: MysqlServer, tmp_path: Path) -> None:
    """The whole capture (lock, snapshot, dump, manifest) runs as a user who cannot write at all."""
    admin = mysql_source.connect()
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE USER 'rp_reader'@'localhost' IDENTIFIED BY %s", (PASSWORD,))
            cur.execute(f"GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON `{SOURCE_DB}`.* "
                        "TO 'rp_reader'@'localhost'")
            cur.execute("GRANT SELECT ON mysql.proc TO 'rp_reader'@'localhost'")  # routine bodies (MariaDB)
        dsn = f"unix_socket={mysql_source.socket} user=rp_reader password={PASSWORD} database={SOURCE_DB}"
        dump, manifest = capture_mysql(dsn, tmp_path)
        assert dump.stat().st_size > 0 and json.loads(manifest.read_text())["facts"]["tables"]
        reader = pymysql.connect(unix_socket=str(mysql_source.socket), user="rp_reader", password=PASSWORD,
                                 database=SOURCE_DB)
        with reader.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("DELETE FROM users WHERE 1 = 0")
        reader.close()
        assert denied.value.args[0] == 1142  # ER_TABLEACCESS_DENIED_ERROR: the user can only read
        assert PASSWORD.encode() not in dump.read_bytes() and PASSWORD not in manifest.read_text()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER IF EXISTS 'rp_reader'@'localhost'")
        admin.close()


# ------------------------------------------------------------------ secrets never shown

@pytest.mark.parametrize("argv", [
    ["postgres", "--dsn", f"postgresql://backup:{PASSWORD}@127.0.0.1:1/app?connect_timeout=3"],
    ["postgres", "--dsn", f"host=127.0.0.1 port=1 user=backup password={PASSWORD} dbname=app connect_timeout=3"],
    ["mysql", "--dsn", f"mysql://backup:{PASSWORD}@127.0.0.1:1/shop"],
    ["redis", "--url", f"redis://backup:{PASSWORD}@127.0.0.1:1/0"],
], ids=["postgres-uri", "postgres-keywords", "mysql", "redis"])
def test_capture_never_shows_a_dsn_password(argv: list[str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", *argv, "--out", str(tmp_path)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert err.startswith("restoreproof: error: ") and "***" in err
    assert PASSWORD not in out + err


def test_mysql_wrong_password_is_refused_without_showing_it(mysql_source: MysqlServer, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    dsn = f"mysql://root:{PASSWORD}@localhost/{SOURCE_DB}?unix_socket={mysql_source.socket}"
    assert main(["capture", "mysql", "--dsn", dsn, "--out", str(tmp_path)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert "Access denied" in err and PASSWORD not in out + err


def damaged(path: Path, marker: str, how: bytes) -> None:
    """Damage the backup right where the marker is, so that error messages are as close to it as they get."""
    data = path.read_bytes()
    at = data.index(marker.encode())
    path.write_bytes(data[:at] + how + data[at:])


def test_a_failing_run_of_every_kind_keeps_secrets_and_rows_out_of_logs_and_reports(
        tmp_path: Path, demo_capture: Capture, redis_capture: RedisCapture, mysql_capture: MysqlCapture) -> None:
    """One `restoreproof verify` over a PostgreSQL, a Redis and a MySQL store whose backups are damaged at their
    planted marker values, plus a store whose S3 endpoint URL carries a password; DEBUG logging to the terminal
    and into the report; secrets in the environment. No secret and no marker may appear anywhere."""
    backups = tmp_path / "backups"
    backups.mkdir()
    pg_sql = backups / "saas-1.sql"  # plain SQL, so the marker is in the file and psql reports the line
    pg_sql.write_bytes(plain_pg_dump(demo_capture))
    damaged(pg_sql, saas_demo.MARKER, b"\t")  # an extra column in that COPY row: psql quotes the row
    claim(demo_capture.manifest, pg_sql, backups / "saas-1.manifest.json")
    rdb = backups / "cache-1.rdb"
    rdb.write_bytes(redis_capture.rdb.read_bytes())
    data = bytearray(rdb.read_bytes())
    at = data.index(redis_demo.MARKER.encode())
    data[at + 3] ^= 0x20  # a changed value: the RDB's CRC and the digest disagree
    rdb.write_bytes(bytes(data))
    claim(redis_capture.manifest, rdb, backups / "cache-1.manifest.json")
    shop = backups / "shop-1.sql"
    text = gzip.decompress(mysql_capture.dump.read_bytes())
    shop.write_bytes(text.replace(mysql_demo.MARKER.encode(), mysql_demo.MARKER.encode() + b"'x", 1))
    claim(mysql_capture.manifest, shop, backups / "shop-1.manifest.json")
    (tmp_path / "inventory.toml").write_text(f"""
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "3650d"
source = {{ type = "file", path = "backups/saas-*.sql" }}
[[stores]]
name = "cache"
kind = "redis"
rto = "15m"
rpo = "3650d"
source = {{ type = "file", path = "backups/cache-*.rdb" }}
[[stores]]
name = "shop"
kind = "mysql"
rto = "15m"
rpo = "3650d"
source = {{ type = "file", path = "backups/shop-*.sql" }}
[[stores]]
name = "offsite"
kind = "postgres"
rto = "15m"
rpo = "3650d"
[stores.source]
type = "s3"
bucket = "acme-backups"
region = "eu-west-1"
endpoint_url = "http://backup:{PASSWORD}@127.0.0.1:1"
""")
    env = {**os.environ, **SECRETS, "AWS_MAX_ATTEMPTS": "1", "AWS_CONNECT_TIMEOUT": "2"}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml", "--reports-dir",
                             "reports", "--", "--log-level=DEBUG", "-o", "log_cli=true", "--log-cli-level=DEBUG"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    (evidence,) = (tmp_path / "reports").glob("*/*/evidence.json")
    stores = {s["name"]: s for s in json.loads(evidence.read_text())["stores"]}
    assert {n: s["status"] for n, s in stores.items()} == {"saas": "failed", "cache": "failed", "shop": "failed",
                                                          "offsite": "error"}
    for name in ("saas", "shop"):  # the restore errors did quote the damaged row, and were cut there
        (restore,) = [c for c in stores[name]["checks"] if c["check"] == "restore"]
        assert "<redacted>" in restore["message"], restore["message"]
    places = {"stdout": result.stdout, "stderr": result.stderr}
    places.update({str(p): p.read_text(errors="replace") for p in (tmp_path / "reports").rglob("*") if p.is_file()})
    leaks = {secret: [where for where, text in places.items() if secret in text] for secret in [*SECRETS.values(),
                                                                                              *MARKERS]}
    assert {secret: where for secret, where in leaks.items() if where} == {}


def plain_pg_dump(capture: Capture) -> bytes:
    """The captured custom-format dump as plain SQL (pg_restore -f -), so it holds the marker in clear: written by
    the pg_restore of the pg_dump's own major, as the SQL's header then says (a newer one would add settings,
    such as 17's `SET transaction_timeout`, that the source's major rejects)."""
    dump_major = major_of(read_header(capture.dump).dump_version or "0")
    (same,) = [i for i in find_installations(None, None) if i.major == dump_major][:1]
    return subprocess.run([str(same.tool("pg_restore")), "--no-owner", "-f", "-", str(capture.dump)],
                          check=True, capture_output=True).stdout
