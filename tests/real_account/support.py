"""What the real-account tests share: their environment, required (they are opted into, so never a skip)."""

from __future__ import annotations

import os

import pytest


def required_env(name: str) -> str:
    """The value of `name`; unset or blank fails the test naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(f"set {name} to run this real-account test (its module's docstring says what it is)")
    return value
