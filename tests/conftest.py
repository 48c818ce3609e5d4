"""Shared pytest configuration.

Fixture modules of each area live beside the tests (`tests/*_fixtures.py`) and are loaded by the
test modules that need them via `pytest_plugins`, so each area owns its fixtures.
"""
