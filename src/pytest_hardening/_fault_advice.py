"""Where a fault report's advice points: the pytest fixtures, or a chaos session.

The same injector serves both; what to check and how to opt out is spelt differently.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CHAOS", "FIXTURES", "Advice"]


class Advice(NamedTuple):
    providers: str  # where the providers are declared
    dev_env: str  # where the development environment is
    log: str  # where the app's logged exceptions show
    opt_out: str  # how to accept faults no call met
    one: str  # what one use of the app is called
    no_reset: str  # how to give no reset (an app built for each)
    keep: str  # how to keep one app object running between uses (started once)
    accept_blocked: str | None  # how to accept refused connections (None: the guard's own)


FIXTURES = Advice(
    providers="the hardening_providers fixture",
    dev_env="hardening_dev_env",
    log="in Captured log",
    opt_out="faults.allow_unused() or @pytest.mark.hardening_allow_unused_faults",
    one="test",
    no_reset="return None from `hardening_app_reset`",
    keep=(
        "give a hardening_app_reset (even `lambda app: None`): the app then starts once and "
        "stays running between hardened_client tests (docs/harness.md)"
    ),
    accept_blocked=None,
)

CHAOS = Advice(
    providers="HarnessSession(providers=...)",
    dev_env="the session's env",
    log="in the app's last log lines",
    opt_out="a Check step calling ctx.faults.allow_unused()",
    one="run",
    no_reset="give none (HarnessSession(reset=None))",
    keep=(
        "give HarnessSession a reset (even `lambda app: None`) and run inside its "
        "reusing(): the app then starts once and stays running between runs (docs/chaos.md)"
    ),
    accept_blocked=(
        "accept the refusals with a Check step calling ctx.faults.allow_blocked() (they stay "
        "refused)"
    ),
)
