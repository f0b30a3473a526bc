"""Live: a process refusing a production env reports it to Sentry first, however it boots:
``python -m reference_app``, ``uvicorn --factory reference_app:create_app``, ``hardening serve``.

A real Sentry SDK in a real process sends to a Sentry-compatible ingest stub on 127.0.0.1: one
event, naming the refused variable, no secret value; flushed before the process exits.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pytest_hardening.live import SentryIngest
from reference_app.testing import production_example_env

from ._support import ROOT, UNSET

pytestmark = pytest.mark.live(seconds=3)


BOOTS = {
    "python -m reference_app": (["-m", "reference_app", "--port", "9"], 1),
    "uvicorn --factory": (["-m", "uvicorn", "--factory", "reference_app:create_app"], 1),
    "hardening serve": (["-m", "pytest_hardening", "serve", "--port", "9"], 2),
}


@pytest.mark.parametrize("boot", list(BOOTS))
def test_refused_production_boot_sends_one_event_before_exiting(boot: str) -> None:
    args, status = BOOTS[boot]
    with SentryIngest() as ingest:
        env = production_example_env() | {"SENTRY_DSN": ingest.dsn}
        env.pop("MONITORING_ADMIN_TOKEN")
        secrets = [v for k, v in env.items() if any(w in k for w in ("KEY", "SECRET", "TOKEN"))]
        inherited = {k: v for k, v in os.environ.items() if k not in UNSET}
        result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, *args],
            env=inherited | env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        # Flushed before the exit: the event is there as soon as the process is gone.
        events = ingest.events

    assert result.returncode == status, result.stderr
    assert "MONITORING_ADMIN_TOKEN" in result.stderr
    [event] = events
    assert "MONITORING_ADMIN_TOKEN" in event["message"]
    assert event["tags"]["boot"] == "refused"
    sent = repr(event)
    assert not [s for s in secrets if s in sent]
