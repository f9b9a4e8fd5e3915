"""Slack incoming webhook: one message per failed or errored store (nothing when a store passes).

`text` is the notification line; the blocks show the verdict, RTO and RPO against their targets, the run, the
failed checks, and a button to the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifiers.alerts.config import SlackChannel
from verifiers.alerts.delivery import OutboundRequest, secret_url
from verifiers.alerts.payload import StoreAlert

HEADER_LIMIT = 150  # Slack's limits on a header block and a section's text
SECTION_LIMIT = 3000


def requests_for(channel: SlackChannel, secrets: Mapping[str, str], alert: StoreAlert) -> list[OutboundRequest]:
    if alert.action != "trigger":
        return []
    url = secret_url(secrets[channel.url_env], channel.url_env)
    return [OutboundRequest(channel.label, alert.store.name, "trigger", url, message(alert), secrets=(url,),
                            url_is_secret=True)]


def message(alert: StoreAlert) -> dict[str, Any]:
    problems = "\n".join(f"• {_escape(p)}" for p in alert.problems(limit=15))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _cut(f":rotating_light: {alert.headline}", HEADER_LIMIT)}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Store*\n{_escape(alert.store.name)} ({_escape(alert.store.kind or '-')})"},
            {"type": "mrkdwn", "text": f"*Run*\n`{_escape(alert.run.id)}`"},
            {"type": "mrkdwn", "text": f"*RTO* (restore time)\n{_escape(alert.rto_shown)}"},
            {"type": "mrkdwn", "text": f"*RPO* (backup age)\n{_escape(alert.rpo_shown)}"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*What failed*\n{problems}", SECTION_LIMIT)}},
    ]
    if alert.report_link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": alert.report_link},
        ]})
    return {"text": _escape(f"restoreproof: {alert.headline}"), "blocks": blocks}


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters, as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
