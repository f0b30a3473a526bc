"""The in-process harness for the reference app's chaos runs."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from pytest_hardening import Provider
from pytest_hardening.chaos import ChaosTarget, HarnessSession
from reference_app import fakes
from reference_app.config import VARIABLE_NAMES
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY, reset_app

from ._app import create_chaos_app
from ._catalogue import catalogue

#: The test harness's development env, with in-memory SQLite and no request tracing (errors
#: are still captured in memory; tracing every request would only cost time here).
CHAOS_ENV: Mapping[str, str] = MappingProxyType(
    {
        **DEV_ENV,
        "DATABASE_URL": "sqlite+aiosqlite:///:memory:",
        "SENTRY_TRACES_SAMPLE_RATE": "0",
    }
)


def session() -> HarnessSession:
    """A fresh app per run, or one shared by the runs inside ``reusing()`` and reset by the
    test suite's ``reset_app`` between them; re-dial rounds run when a step says so
    (:func:`create_chaos_app`). Every variable the app reads is cleared first, so the
    caller's shell environment (an ``APP_ENV=production``, a real DSN) never leaks into a
    chaos run."""
    providers = {name: Provider(url, handler) for name, (url, handler) in fakes.providers().items()}
    return HarnessSession(
        app_factory=create_chaos_app,
        env=CHAOS_ENV,
        providers=providers,
        clear=(*VARIABLE_NAMES, "NODE_ENV"),
        # Every chaos request authenticates as the test merchant, as the hardened clients do.
        headers={"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"},
        reset=reset_app,
    )


def target() -> ChaosTarget:
    # The app imports the OpenAI SDK with its first script. `hardening chaos` forks its workers
    # after loading the target: imported here, once, no worker pays for it again.
    importlib.import_module("openai")
    # Each process's runs keep their data in its own in-memory SQLite: workers share nothing.
    return ChaosTarget("reference_app", catalogue, session(), parallel_safe=True)
