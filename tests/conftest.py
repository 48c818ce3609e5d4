"""Shared pytest configuration.

Fixture modules of each area live beside the tests (`tests/*_fixtures.py`) and are loaded by the
test modules that need them via `pytest_plugins`, so each area owns its fixtures.
"""

from __future__ import annotations

import asyncio

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # looptime asks for "the" event loop before every test, sync ones included; on Python 3.11
    # that creates a loop nobody closes when no async test ran yet, and its ResourceWarning
    # (an error under filterwarnings=error) lands on some unrelated later test.
    asyncio.set_event_loop(None)
