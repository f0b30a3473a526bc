"""Targets whose failing runs the report tests read, and objects that are not targets."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from pytest_hardening import Provider, app_from_import
from pytest_hardening.chaos import ChaosTarget, ExpectBreaker, HarnessSession, Scenario, send
from tests.chaos import mini_app

FIRST_USE = Scenario(
    name="made-on-first-use",
    description="the payments breaker appears at the first order and stays CLOSED",
    method=(
        send("POST", "/orders", json={"item": "a"}, expect=201),
        ExpectBreaker("payments", "CLOSED"),
        send("POST", "/orders", json={"item": "b"}, expect=500),  # fails on purpose
    ),
)


def first_use() -> ChaosTarget:
    session = HarnessSession(
        lambda: mini_app.create_app(breaker_on_first_use=True),
        {},
        {"payments": mini_app.PAYMENTS_PROVIDER},
    )
    return ChaosTarget("first-use", lambda: [FIRST_USE], session)


def undeclared_host() -> ChaosTarget:
    """The app charges at a host no provider of the session owns: a failure of many lines."""
    scenario = Scenario(
        name="undeclared",
        description="the app's payment host is nobody's",
        method=(send("POST", "/orders", json={"item": "a"}, expect=202),),
    )
    fraud = {"fraud": Provider("https://fraud.example", httpx.Response(200))}
    return ChaosTarget(
        "undeclared", lambda: [scenario], HarnessSession(mini_app.create_app, {}, fraud)
    )


# Not targets: `--target` refuses them without calling them (a call would build the app).
APP_FACTORY = app_from_import("tests.chaos.report_targets:create_app")
APP = Starlette()


def create_app() -> Starlette:
    raise AssertionError("a function annotated to return an app was called as a target")
