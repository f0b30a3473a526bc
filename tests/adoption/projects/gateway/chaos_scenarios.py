"""The gateway's chaos catalogue, run with `hardening chaos` ([tool.hardening] target)."""

from gateway_app import create_app

from pytest_hardening.chaos import (
    Advance,
    ChaosTarget,
    ExpectBreaker,
    HarnessSession,
    Heal,
    Inject,
    Scenario,
    send,
)

KEY = "chaos-key"

USERS_OUTAGE = Scenario(
    name="users-outage",
    description="the users service is down: 502s, then the breaker answers 503 fast",
    method=(
        Inject("users", "fail", (503,)),
        send("GET", "/users/1", count=3, expect=502),
        ExpectBreaker("users", "OPEN"),
        send("GET", "/users/1", expect=503),
        Heal("users"),
        Advance(30),
        send("GET", "/users/1", expect=200),
        ExpectBreaker("users", "CLOSED"),
        send("PUT", "/users/1/notes", content=b"vip", headers={"X-Note": "1"}, expect=200),
        send("GET", "/users/1", headers={"X-API-Key": "wrong"}, expect=401),
    ),
)

WRONG_ON_PURPOSE = Scenario(
    name="expects-an-open-breaker",
    description="a scenario that fails, to show the failure output",
    method=(
        Inject("users", "fail", (500,), {"times": 1}),
        send("GET", "/users/1", expect=502),
        ExpectBreaker("users", "OPEN"),  # wrong: one failure does not open it
    ),
)


def target() -> ChaosTarget:
    return ChaosTarget(
        name="gateway",
        catalogue=lambda: [USERS_OUTAGE, WRONG_ON_PURPOSE],
        session=HarnessSession(
            app_factory=create_app,
            env={"GATEWAY_API_KEY": KEY},
            providers={"users": "https://users.internal.example"},
            headers={"X-API-Key": KEY},
        ),
    )


def validate(env):
    """The gateway's release check: an API key that is not a test value."""
    key = env.get("GATEWAY_API_KEY", "")
    return [] if len(key) >= 24 else ["GATEWAY_API_KEY: must be 24+ characters"]
