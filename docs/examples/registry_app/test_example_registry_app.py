"""The registry stand-in covers the kept app's startup and (at the session's end) its shutdown."""

from __future__ import annotations

from typing import Any


def test_the_app_joined_the_registry_once(
    hardened_client: Any, service_registry: list[str]
) -> None:
    assert hardened_client.get("/health").json() == {"status": "ok"}
    assert service_registry == ["+orders"]  # started once, kept: it leaves at the session's end


def test_a_second_test_reuses_the_app(hardened_client: Any, service_registry: list[str]) -> None:
    assert hardened_client.get("/health").status_code == 200
    assert service_registry == ["+orders"]
