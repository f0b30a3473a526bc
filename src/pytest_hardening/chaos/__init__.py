"""The chaos engine: scenarios as data, one engine, two runners (pytest and ``hardening chaos``).

App-agnostic: a :class:`ChaosTarget` supplies the catalogue and a session factory that builds
a fresh app + harness (faults, clock, breakers) per run; the reference app's lives in
``reference_app.chaos``.
"""

from __future__ import annotations

from pytest_hardening.chaos._context import ChaosContext, Served
from pytest_hardening.chaos._engine import Session, execute, run_all, run_scenario, select
from pytest_hardening.chaos._html import STATE_COLOURS, render_html, timeline_svg
from pytest_hardening.chaos._pytest import assert_scenario_passes, scenario_params
from pytest_hardening.chaos._result import DataLossCheck, ScenarioResult
from pytest_hardening.chaos._scenario import DataCheck, Scenario, Step
from pytest_hardening.chaos._session import EPOCH, HarnessSession
from pytest_hardening.chaos._steps import (
    Advance,
    Check,
    ExpectAlert,
    ExpectBreaker,
    ExpectFastFail,
    ExpectNoSentryErrors,
    ExpectNoServerErrors,
    ExpectProviderCalls,
    ExpectSentryEvent,
    ExpectTransitions,
    Heal,
    Inject,
    Req,
    Send,
    send,
)
from pytest_hardening.chaos._target import ChaosTarget, load_target
from pytest_hardening.chaos._text import breaker_line, render_result, summary_table
from pytest_hardening.chaos._timeline import Band, BreakerChange, FaultMark, RequestMark, Timeline

__all__ = [
    "EPOCH",
    "STATE_COLOURS",
    "Advance",
    "Band",
    "BreakerChange",
    "ChaosContext",
    "ChaosTarget",
    "Check",
    "DataCheck",
    "DataLossCheck",
    "ExpectAlert",
    "ExpectBreaker",
    "ExpectFastFail",
    "ExpectNoSentryErrors",
    "ExpectNoServerErrors",
    "ExpectProviderCalls",
    "ExpectSentryEvent",
    "ExpectTransitions",
    "FaultMark",
    "HarnessSession",
    "Heal",
    "Inject",
    "Req",
    "RequestMark",
    "Scenario",
    "ScenarioResult",
    "Send",
    "Served",
    "Session",
    "Step",
    "Timeline",
    "assert_scenario_passes",
    "breaker_line",
    "execute",
    "load_target",
    "render_html",
    "render_result",
    "run_all",
    "run_scenario",
    "scenario_params",
    "select",
    "send",
    "summary_table",
    "timeline_svg",
]
