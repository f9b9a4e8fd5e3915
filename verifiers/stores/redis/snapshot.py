"""One consistent RDB from a live server: BGSAVE and the server's own dump file when it is on this host, else
`redis-cli --rdb` (a replica-style transfer of a fresh fork). Passwords never reach a command line or a message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis

from verifiers.errors import CaptureError

VIA = ("auto", "dump-file", "redis-cli")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def redact_url(url: str) -> str:
    """The URL as it may appear in a message or a manifest: no password, in the netloc or the query."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if password is None and not any(k == "password" for k, _ in query):
        return url
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    shown_query = urlencode([(k, "***" if k == "password" else v) for k, v in query], safe="*")
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{shown_query}" if shown_query else "")


def fetch_rdb(url: str, partial: Path, *, via: str, since: datetime, timeout: float) -> None:
    shown = redact_url(url)
    if via == "redis-cli" or (via == "auto" and not _is_local(url)):
        _redis_cli_rdb(url, partial, timeout=timeout)
        return
    client = _connect(url)
    try:
        _bgsave(client, shown, timeout=timeout)
        dump = _dump_path(client, shown)
    finally:
        client.close()
    if dump is None or not os.access(dump, os.R_OK):
        if via == "dump-file":
            raise CaptureError(f"capture redis: cannot read the dump file of {shown} ({dump or 'CONFIG refused'})",
                               hint="run capture on the server's host as a user that can read its dir, or use "
                               "--via redis-cli")
        _redis_cli_rdb(url, partial, timeout=timeout)
        return
    _copy_saved(dump, partial, since=since, shown=shown)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "unix" or (parts.hostname or "") in _LOCAL_HOSTS or (parts.hostname or "").startswith("127.")


def _connect(url: str) -> redis.Redis:
    shown = redact_url(url)
    try:
        client = redis.Redis.from_url(url, socket_timeout=30)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise CaptureError(f"capture redis: cannot connect to {shown}: {_scrub(str(exc), url)}",
                           hint="check the URL, the network path and the credentials") from None
    return client


def _info(client: redis.Redis) -> dict[str, Any]:
    return dict(client.info("persistence"))


def _bgsave(client: redis.Redis, shown: str, *, timeout: float) -> None:
    """Trigger a snapshot started after this call and wait for it to be written."""
    deadline = time.monotonic() + timeout
    info = _wait(client, deadline, shown, lambda i: not i.get("rdb_bgsave_in_progress"))
    saves, last = info.get("rdb_saves"), int(info.get("rdb_last_save_time", 0))
    if saves is None:  # before Redis 7 only the save time (1s resolution) tells a new save from the last
        while int(time.time()) <= last:
            time.sleep(0.05)
    try:
        client.bgsave(schedule=True)
    except redis.ResponseError as exc:
        if "already in progress" not in str(exc):  # someone else's save, started after ours would have: fine
            raise CaptureError(f"capture redis: {shown} refused BGSAVE: {exc}",
                               hint="managed services (ElastiCache) disable it: export a backup and use --from-rdb "
                               "FILE, or use --via redis-cli") from None

    def written(i: dict[str, Any]) -> bool:
        moved = i["rdb_saves"] > saves if saves is not None else int(i.get("rdb_last_save_time", 0)) > last
        return not i.get("rdb_bgsave_in_progress") and bool(moved)

    info = _wait(client, deadline, shown, written)
    if info.get("rdb_last_bgsave_status") != "ok":
        raise CaptureError(f"capture redis: BGSAVE on {shown} failed (rdb_last_bgsave_status: "
                           f"{info.get('rdb_last_bgsave_status')})",
                           hint="see the server's log: disk space, its dir's permissions, fork memory")


def _wait(client: redis.Redis, deadline: float, shown: str, done: Any) -> dict[str, Any]:
    interval = 0.02
    while True:
        info = _info(client)
        if done(info):
            return info
        if time.monotonic() > deadline:
            raise CaptureError(f"capture redis: BGSAVE on {shown} did not finish in time",
                               hint="raise --timeout, or check the server's log")
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


def _dump_path(client: redis.Redis, shown: str) -> Path | None:
    try:
        directory = client.config_get("dir").get("dir")
        filename = client.config_get("dbfilename").get("dbfilename")
    except redis.ResponseError:
        return None  # CONFIG renamed or disabled
    if not directory or not filename:
        return None
    return Path(str(directory)) / str(filename)


def _copy_saved(dump: Path, partial: Path, *, since: datetime, shown: str) -> None:
    """Copy the dump just written. Opened once: a later save renames a new file over it, ours stays whole."""
    with dump.open("rb") as src:
        written = datetime.fromtimestamp(os.fstat(src.fileno()).st_mtime, tz=UTC)
        if written.timestamp() < since.timestamp() - 1:
            raise CaptureError(f"capture redis: {dump} is older than the BGSAVE just done on {shown}",
                               hint="the URL and this host's file do not belong to the same server; use --via "
                               "redis-cli")
        with partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def _redis_cli_rdb(url: str, partial: Path, *, timeout: float) -> None:
    shown = redact_url(url)
    cli = shutil.which("valkey-cli") or shutil.which("redis-cli")
    if cli is None:
        raise CaptureError(f"capture redis: {shown} is not on this host (or its dump is unreadable) and there is no "
                           "valkey-cli/redis-cli for `--rdb`",
                           hint="install redis-tools, run capture on the server's host, or export an RDB and use "
                           "--from-rdb FILE")
    argv, env = _cli_target(url)
    try:
        result = subprocess.run([cli, *argv, "--rdb", str(partial)], env=env, capture_output=True, text=True,
                                timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CaptureError(f"capture redis: {Path(cli).name} --rdb from {shown} did not finish in time",
                           hint="raise --timeout") from None
    if result.returncode != 0 or not partial.exists():
        output = _scrub((result.stderr or result.stdout).strip()[-1000:], url)
        raise CaptureError(f"capture redis: {Path(cli).name} --rdb from {shown} failed: {output}",
                           hint="check the URL and credentials; the user needs the SYNC/REPLCONF permission")


def _cli_target(url: str) -> tuple[list[str], dict[str, str]]:
    """redis-cli arguments for `url`, the password in REDISCLI_AUTH (never on a command line)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if password := parts.password or query.get("password"):
        env["REDISCLI_AUTH"] = password
    if parts.scheme == "unix":
        argv = ["-s", parts.path]
    else:
        argv = ["-h", parts.hostname or "localhost", "-p", str(parts.port or 6379)]
        if parts.scheme == "rediss":
            argv.append("--tls")
    if parts.username:
        argv += ["--user", parts.username]
    return argv, env  # no db: an RDB holds every logical db


def _scrub(text: str, url: str) -> str:
    """A message from a client or tool, with the URL's password cut out wherever it appears."""
    parts = urlsplit(url)
    for secret in (parts.password, dict(parse_qsl(parts.query)).get("password")):
        if secret:
            text = text.replace(secret, "***")
    return text.replace(url, redact_url(url))
