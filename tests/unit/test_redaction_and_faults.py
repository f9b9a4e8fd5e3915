"""The pure parts of the fault handling: secret redaction, disk-full recognition, foreign file types."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from verifiers import redaction
from verifiers.checks import CheckResult
from verifiers.diskspace import disk_full_error, says_disk_full
from verifiers.filetypes import identify
from verifiers.redaction import redact_log_records, redact_secrets, secret_values

ENV = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/T/B/x",
       "PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY", "HOME": "/root/home/dir", "SHORT_TOKEN": "abc"}


@pytest.mark.parametrize(("text", "shown"), [
    ("postgresql://u:hunter2x@db/app", "postgresql://u:***@db/app"),
    ('endpoint "http://backup:p%40ss@127.0.0.1:1/b?x=1"', 'endpoint "http://backup:***@127.0.0.1:1/b?x=1"'),
    ("host=db password=hunter2x dbname=app", "host=db password=*** dbname=app"),
    ("password = 'two words'", "password = ***"),
    ("key wJalrXUtnFEMI/K7MDENG and hook https://hooks.slack.com/T/B/x", "key *** and hook ***"),
    ("routing R0UT1NGKEY", "routing ***"),
    ("home /root/home/dir, abc", "home /root/home/dir, abc"),  # not secret-named, or too short to mask
    ("redis://cache.internal:6379/0", "redis://cache.internal:6379/0"),
])
def test_redact_secrets(text: str, shown: str) -> None:
    assert redact_secrets(text, ENV) == shown


def test_secret_values_longest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_registered", set())  # passwords other tests' sandboxes registered
    assert secret_values({"A_TOKEN": "12345678", "B_TOKEN": "1234567890"}) == ["1234567890", "12345678"]


def test_a_registered_secret_is_masked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_registered", set())
    password = "Zq8-random-master-pw"  # a value no environment variable holds
    assert redact_secrets(f"FATAL: password {password} refused") == f"FATAL: password {password} refused"
    redaction.register_secret(password)
    assert redact_secrets(f"FATAL: password {password} refused") == "FATAL: password *** refused"
    assert password in secret_values({})
    with pytest.raises(ValueError, match="at least 8"):
        redaction.register_secret("short")


def test_log_records_are_redacted_with_their_tracebacks(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "planted-session-token-1")
    monkeypatch.setattr(redaction, "_installed", False)
    previous = logging.getLogRecordFactory()
    monkeypatch.setattr(logging, "_logRecordFactory", previous)  # put back after the test
    redact_log_records()
    redact_log_records()  # idempotent
    assert logging.getLogRecordFactory() is not previous
    log = logging.getLogger("some.library")
    with caplog.at_level(logging.DEBUG):
        log.debug("headers: %s", {"X-Amz-Security-Token": "planted-session-token-1"})
        try:
            raise ValueError("could not connect to http://u:pw-in-url@host:1/")
        except ValueError:
            log.debug("retrying", exc_info=True)
    assert "planted-session-token-1" not in caplog.text and "pw-in-url" not in caplog.text
    assert "'X-Amz-Security-Token': '***'" in caplog.text and "http://u:***@host:1/" in caplog.text


@pytest.mark.parametrize("line", [
    'FATAL:  could not write to file "base/4/2608_vm": No space left on device',
    "[ERROR] InnoDB: preallocating 16777216 bytes for file ./ib_logfile101 failed with error 28",
    "Got error 28 from storage engine (Errcode: 28 \"No space left on device\")",
    "write failed: Disk quota exceeded",
])
def test_disk_full_is_recognised(line: str) -> None:
    assert says_disk_full(line)


def test_disk_full_prefers_the_restore_check_and_other_errors_stay(tmp_path: Path) -> None:
    restore = CheckResult("restore", "restore", False, "exit 1", "exit 0", "pg_restore: No space left on device")
    lost = {"phase": "verify", "message": "store s: lost the sandbox server while verifying"}
    error = disk_full_error("s", tmp_path, lost, [restore])
    assert error is not None and error["phase"] == "restore"
    assert error["message"].startswith(f"store s: out of disk space in the work dir {tmp_path} (a ")
    assert disk_full_error("s", tmp_path, lost, []) is None
    assert not says_disk_full("error 2800 in row 28")


@pytest.mark.parametrize(("head", "what"), [
    (b"\x89PNG\r\n\x1a\n....", "a PNG image"),
    (b"%PDF-1.7", "a PDF document"),
    # mtime=0: gzip writes the time into its header, and a parameter (so a test id) that changes with the second
    # made two xdist workers collect different tests now and then
    (gzip.compress(gzip.compress(b"-- dump", mtime=0), mtime=0), "gzip-compressed twice"),
    (gzip.compress(b"PGDMP\x01\x0e", mtime=0), "gzip-compressed pg_dump archive"),
    (gzip.compress(b"-- some SQL", mtime=0), "gzip-compressed data"),
    (b"\0" * 257 + b"ustar\x0000", "a tar archive"),
    (b"-- MariaDB dump", None),
])
def test_identify(head: bytes, what: str | None) -> None:
    assert identify(head) == what
