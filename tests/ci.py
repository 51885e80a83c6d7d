"""What CI requires, said once: under CI=true a missing part fails the test; elsewhere it skips."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop that lacks a part (Elasticsearch, Chromium, a tool); in CI it is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must have this: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)  # also at a module's top, for a module that needs the part
