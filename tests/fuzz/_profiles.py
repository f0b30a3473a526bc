"""Hypothesis settings for the fuzz tests, chosen from the environment at import time of the test
module (not globally loaded: other test areas keep their own settings).

``CI=true`` selects the ``fuzz-ci`` profile (>= 200 examples per test); otherwise ``fuzz-local``
(50 examples) keeps local runs quick. ``FUZZ_EXAMPLES=N`` overrides both, e.g. for a long soak.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 200
LOCAL_EXAMPLES = 50

_COMMON = {
    "deadline": None,  # app requests vary with the machine; time is bounded by example counts
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,  # a CI failure prints the @reproduce_failure blob
}

settings.register_profile("fuzz-ci", max_examples=CI_EXAMPLES, **_COMMON)
settings.register_profile("fuzz-local", max_examples=LOCAL_EXAMPLES, **_COMMON)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def fuzz_settings() -> settings:
    """The profile for this run, as a decorator: ``@fuzz_settings()``."""
    profile = settings.get_profile("fuzz-ci" if in_ci() else "fuzz-local")
    override = os.environ.get("FUZZ_EXAMPLES", "").strip()
    if override.isdigit() and int(override) > 0:
        return settings(profile, max_examples=int(override))
    return settings(profile)
