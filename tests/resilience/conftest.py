"""Hypothesis profiles for the breaker model test: ``ci`` (default, >= 500 examples) and ``dev``.

Select with ``HYPOTHESIS_PROFILE=dev`` for a quick local run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "resilience-ci",
    max_examples=500,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
)
settings.register_profile("resilience-dev", max_examples=50, stateful_step_count=30, deadline=None)

PROFILE = "resilience-dev" if os.environ.get("HYPOTHESIS_PROFILE") == "dev" else "resilience-ci"
