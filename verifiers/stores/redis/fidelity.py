"""How faithful an RDB's restore is to the one production would do: on which release against the one that wrote the
file (its redis-ver / valkey-ver aux field), with which check-rdb, and under which settings the RTO was measured.

A release other than the writer's can load a file production's could not (or the other way round: Valkey refuses
Redis CE 7.4+ formats), and a server with persistence off runs differently once loaded: both are said in the
evidence, not left for an auditor to guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

import redis

from verifiers import __version__
from verifiers.checks import CheckResult, not_compared
from verifiers.sandboxes import SandboxInfo
from verifiers.stores.redis.installations import RedisInstallation, RedisRelease
from verifiers.stores.redis.network_server import NetworkRedis

log = logging.getLogger(__name__)
# Settings that bear on loading and on what the server does with the loaded data, read back (CONFIG GET) from the
# server: persistence, the load's own checks (CRC, deep payload sanitisation), memory and threads.
RESTORE_SETTINGS = ("appendonly", "appendfsync", "save", "aof-use-rdb-preamble", "rdbchecksum",
                    "sanitize-dump-payload", "maxmemory", "maxmemory-policy", "io-threads", "databases")


def read_settings(client: redis.Redis) -> dict[str, str]:
    """What the server runs with; empty where CONFIG is refused (ElastiCache and locked-down servers rename it)."""
    settings: dict[str, str] = {}
    try:
        for name in RESTORE_SETTINGS:  # one at a time: CONFIG GET takes one pattern before Redis 7
            reply = client.config_get(name)
            settings.update({str(k): str(v) for k, v in reply.items() if str(k) == name})
    except redis.ResponseError as exc:
        log.info("the sandbox server refused CONFIG GET (%s): its settings are not recorded", exc)
        return {}
    finally:
        client.close()
    return settings


def mode_of(settings: Mapping[str, str]) -> str | None:
    """"fast" when the server neither saves nor appends (the loaded data is never written back), "production-like"
    when it persists as a server does by default; None when the settings could not be read."""
    if "save" not in settings and "appendonly" not in settings:
        return None
    return "fast" if settings.get("save") == "" and settings.get("appendonly") == "no" else "production-like"


def describe(info: SandboxInfo, client: Callable[[], redis.Redis], tools: Mapping[str, str]) -> SandboxInfo:
    """The sandbox record with the settings the server runs with, the mode they amount to, and the tools used."""
    settings = read_settings(client())
    return replace(info, settings=settings, tools=dict(tools), mode=mode_of(settings))


def engine_check(writer: RedisRelease | None, sandbox: RedisRelease, *, exact: bool,
                 chosen: str = "the nearest that loads this RDB here") -> CheckResult:
    """The sandbox's release against the writer's. On another release the check passes under version_match =
    "nearest" but says so, and why this server (`chosen`); a local "exact" never gets this far (the choice of
    server failed), a container's or external server's fails here, before it is measured."""
    if writer is None or writer.release is None:
        return not_compared("engine", "sandbox", sandbox.label, "the RDB records no writer release (no redis-ver or "
                            f"valkey-ver aux field; {sandbox.label} sandbox)")
    same = sandbox.same_release(writer)
    if same:
        message = f"{sandbox.label} sandbox for an RDB written by {writer.label}: the same release"
    else:
        message = (f"sandbox {sandbox.label}, RDB written by {writer.label}: verified on another release "
                   f"({sandbox.series}, not {writer.series}), {chosen} — install {writer.series} to verify on the "
                   'writer\'s own, or set sandbox.version_match = "exact" to require it')
    return CheckResult("engine", "sandbox", same or not exact, sandbox.label, writer.label, message)


def why_chosen(installation: RedisInstallation) -> str:
    """Why this server, for the engine check: the user named it, or it is the nearest here."""
    if installation.origin.startswith("configured"):
        return "the server sandbox.bin_dir names"
    if installation.named:
        return "the server RESTOREPROOF_REDIS_BIN_DIR names"
    return "the nearest that loads this RDB here"


def remote_chosen(server: NetworkRedis) -> str:
    """Which server a container's or the user's is, for the engine check."""
    image = server.info.details.get("image")
    return f"the {image} image's server" if image else "the external server the sandbox names"


def remote_tools(server: NetworkRedis) -> dict[str, str]:
    """What restored the RDB besides the server: on an external server restoreproof's key-by-key RESTORE of the
    DUMP payloads it cut from the file (a container's server loads the file itself)."""
    return {"restoreproof RESTORE": __version__} if server.info.type == "external" else {}
