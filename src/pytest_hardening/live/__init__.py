"""Live servers for real-socket, real-time tests: fake providers on 127.0.0.1 with the plugin's
fault vocabulary, an app in a subprocess, a Sentry ingest stub, and a bounded load runner.

Everything binds 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

from ._asgi import Behaviour, HandlerApp, RealDelayClock
from ._live_providers import LiveProviders
from ._load import LoadReport, Sample, percentile, run_load
from ._process import Exit, LiveApp, LiveAppError, free_port
from ._sentry_ingest import SentryIngest
from ._server import LiveServer, LiveServerError

__all__ = [
    "Behaviour",
    "Exit",
    "HandlerApp",
    "LiveApp",
    "LiveAppError",
    "LiveProviders",
    "LiveServer",
    "LiveServerError",
    "LoadReport",
    "RealDelayClock",
    "Sample",
    "SentryIngest",
    "free_port",
    "percentile",
    "run_load",
]
