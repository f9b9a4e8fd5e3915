"""Alerts on a run's result, decoupled from pytest: read evidence.json, tell the configured channels.

One job per module: config (alerts.toml, validated), payload (a store's result as every channel tells it),
delivery (an HTTP POST with a timeout, urllib3's retries and backoff; never shows a secret), one module per channel
(slack, pagerduty, opsgenie, webhook: the requests for one store), notify (every store x every channel), and
commands (`restoreproof notify`).
"""
