"""Runs under suites/ are restore runs: they write evidence to reports/YYYY-MM/<run-id>/."""

RESTOREPROOF_SUITES = True
