"""What the catalogue's scenarios share: the steady state, the rollback, the breaker's full
cycle, and the requests one OpenAI script costs while OpenAI fails."""

from __future__ import annotations

from pytest_hardening.chaos import ExpectProviderCalls, Heal, Step
from reference_app.config import DEFAULT_OPENAI_MAX_RETRIES

from ._steps import DatabaseRestored, health_is, place_calls

__all__ = ["CYCLE", "OPENAI_ATTEMPTS", "ROLLBACK", "STEADY", "openai_reached"]

CYCLE = ("CLOSED", "OPEN", "HALF_OPEN", "CLOSED")
STEADY: tuple[Step, ...] = (health_is("healthy"), place_calls(1, expect=201))
ROLLBACK: tuple[Step, ...] = (Heal(), DatabaseRestored())


#: Requests one script costs while OpenAI fails: the SDK's first try and its retries
#: (OPENAI_MAX_RETRIES is unset in the chaos env). The breaker still counts one failure.
OPENAI_ATTEMPTS = 1 + DEFAULT_OPENAI_MAX_RETRIES


def openai_reached(scripts: int, *, per_script: int = OPENAI_ATTEMPTS) -> tuple[Step, ...]:
    """OpenAI received the steady-state script's request plus ``per_script`` per failed one."""
    reached = 1 + scripts * per_script
    return (ExpectProviderCalls("openai", at_least=reached, at_most=reached),)
