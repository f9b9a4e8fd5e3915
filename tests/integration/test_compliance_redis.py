"""Canary and GDPR erasure replay on a real Redis restore: a live server with subject keys, a canary written with
`restoreproof canary write --url`, a real capture, then one run where both pass and one where both fail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.redis_support import SOURCE_PREFIX, failed, redis_verify
from verifiers import cli
from verifiers.stores.redis.capture import capture_redis
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import local_redis

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
PLACES = [{"pattern": "user:{subject}", "db": 0}, {"pattern": "session:{subject}:*", "db": 1}]


@dataclass(frozen=True)
class LiveRdb:
    directory: Path
    captured_at: datetime


@pytest.fixture(scope="module")
def live_rdb(system_redis: RedisInstallation, tmp_path_factory: pytest.TempPathFactory) -> LiveRdb:
    directory = tmp_path_factory.mktemp("compliance-redis")
    (directory / "inventory.toml").write_text('[[stores]]\nname = "cache"\nkind = "redis"\nrto = "15m"\n'
                                              'rpo = "30d"\n[stores.source]\ntype = "file"\npath = "cache-*.rdb"\n'
                                              '[stores.canary]\n')
    with local_redis(system_redis, prefix=SOURCE_PREFIX) as server:
        server.client(0).hset("user:alice@example.com", mapping={"plan": "pro"})
        server.client(0).hset("user:bob@example.com", mapping={"plan": "free"})
        server.client(1).set("session:bob@example.com:42", "token")
        server.client(1).set("session:dora[1]*:7", "token")  # glob characters in an id are matched literally
        url = f"unix://{server.socket}"
        assert cli.main(["canary", "write", "--inventory", str(directory / "inventory.toml"), "--store", "cache",
                         "--url", url]) == 0
        _, manifest = capture_redis(url, directory, name="cache")
    captured = datetime.fromisoformat(json.loads(manifest.read_text())["captured_at"].replace("Z", "+00:00"))
    return LiveRdb(directory, captured)


def ledger(path: Path, entries: list[tuple[str, datetime]]) -> str:
    path.write_text("".join(json.dumps({"subject_id": s, "erased_at": t.isoformat()}) + "\n" for s, t in entries))
    return str(path)


def test_canary_and_erasures_pass(live_rdb: LiveRdb, tmp_path: Path) -> None:
    hour = timedelta(hours=1)
    erasures = ledger(tmp_path / "ledger.jsonl", [("alice@example.com", live_rdb.captured_at + hour),
                                                  ("dora", live_rdb.captured_at - hour),  # not "dora[1]*"
                                                  ("carol@example.com", live_rdb.captured_at - hour)])
    outcome = redis_verify(live_rdb.directory, "cache-*.rdb", canary={},
                           gdpr={"ledger": erasures, "places": PLACES})
    assert failed(outcome) == {}
    pending = next(c for c in outcome.checks if c.subject == "erased after backup")
    assert pending.observed == 1 and "must be re-erased" in pending.message
    assert any(c.check == "canary" and c.passed for c in outcome.checks)


def test_canary_and_erasures_fail(live_rdb: LiveRdb, tmp_path: Path) -> None:
    erasures = ledger(tmp_path / "ledger.jsonl", [("bob@example.com", live_rdb.captured_at - timedelta(days=2)),
                                                  ("dora[1]*", live_rdb.captured_at - timedelta(days=2))])
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps({"store": "cache", "token": "cache-elsewhere",
                                  "written_at": (live_rdb.captured_at - timedelta(seconds=30)).isoformat()}) + "\n")
    outcome = redis_verify(live_rdb.directory, "cache-*.rdb", canary={"log": str(forged)},
                           gdpr={"ledger": erasures, "places": PLACES})
    problems = failed(outcome)
    assert set(problems) == {"canary:canary", "gdpr:erased before backup"}
    assert "2 of 2 subjects erased before this backup" in problems["gdpr:erased before backup"]
    assert "bob@" not in json.dumps(outcome.as_evidence())
