"""Shared fixtures: real services (Chopsticks dev chain, Kubo) started and stopped by the tests."""

pytest_plugins = ["tests.fixtures.kubo", "tests.fixtures.chain"]
