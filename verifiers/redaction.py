"""The last line of defence for secrets: whatever text reaches a report, the evidence or a log passes through
`redact_secrets`, which masks passwords in URLs and `password=` pairs, and the values of the environment's
secret-looking variables (AWS keys and session tokens, webhook URLs, PGPASSWORD, ...).

Each store already keeps its own DSN out of its messages; this catches what nobody anticipated — a password in
an `endpoint_url`, a library's DEBUG log of request headers."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|WEBHOOK|CREDENTIAL|ACCESS_KEY|API_KEY|ROUTING_KEY|"
                          r"PRIVATE_KEY|_AUTH$|AUTHORIZATION|_DSN$", re.IGNORECASE)
_MIN_SECRET = 8  # shorter values would mask ordinary words
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)@", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` wherever text is redacted, for the rest of the process: a secret the harness made itself and
    holds in memory only (the random master password of a temporary RDS or Cloud SQL instance) and that no
    environment variable names. Values shorter than 8 characters are refused: masking them would mask words."""
    if len(value) < _MIN_SECRET:
        raise ValueError(f"a registered secret needs at least {_MIN_SECRET} characters")
    _registered.add(value)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The registered secrets and the values of secret-looking environment variables, longest first (so no
    prefix is masked alone)."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET} | _registered
    return sorted(found, key=len, reverse=True)


def redact_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    for value in secret_values(environ):
        text = text.replace(value, MASK)
    return text


_installed = False
_FORMATTER = logging.Formatter()


def redact_log_records() -> None:
    """Every log record, from any library, is rendered and redacted when it is made: pytest's terminal, report
    and file handlers then only ever see masked text. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's broken format string: leave it to logging to report
            return record
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:  # a traceback quotes messages too (e.g. a URL)
            record.exc_text = redact_secrets(_FORMATTER.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
