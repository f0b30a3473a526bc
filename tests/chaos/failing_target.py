"""A chaos target whose only scenario fails (for the command's exit status)."""

from __future__ import annotations

from pytest_hardening.chaos import ChaosTarget, ExpectBreaker, HarnessSession, Scenario, send
from tests.chaos import mini_app


def target() -> ChaosTarget:
    wrong = Scenario(
        name="expects-too-much",
        description="the payments breaker does not open after one good order",
        method=(send("POST", "/orders", json={"item": "a"}), ExpectBreaker("payments", "OPEN")),
    )
    session = HarnessSession(mini_app.create_app, {}, {"payments": mini_app.PAYMENTS_PROVIDER})
    return ChaosTarget("mini", lambda: [wrong], session)


def unreadable_breakers() -> ChaosTarget:
    """A target whose breakers cannot be read: no run can be set up at all."""

    def breakers(app: object) -> object:
        raise TypeError("cannot read breakers from Registry: give a mapping name -> breaker")

    session = HarnessSession(
        mini_app.create_app, {}, {"payments": mini_app.PAYMENTS_PROVIDER}, breakers=breakers
    )
    return ChaosTarget("mini", list, session)


def silent_failure() -> ChaosTarget:
    """A target whose app fails to build with an error that has no message."""

    def create_app() -> object:
        # Fails: an AssertionError with no text, as a middleware's check of the scope is.
        assert mini_app.PAYMENTS_PROVIDER is None

    session = HarnessSession(create_app, {}, {"payments": mini_app.PAYMENTS_PROVIDER})
    return ChaosTarget("mini", list, session)
