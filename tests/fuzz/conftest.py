"""Fuzz and property tests (hypothesis): PII never reaches Sentry, production configuration is
never unsafe, webhooks never answer 5xx.

Profiles are registered in :mod:`tests.fuzz._profiles` and applied per test with
``@fuzz_settings()`` (never loaded globally, so other test areas keep their own settings):
``CI=true`` → ``fuzz-ci`` (200 examples per test), otherwise ``fuzz-local`` (50);
``FUZZ_EXAMPLES=N`` overrides both. Apps and clients are built once per module and their state is
reset between examples.
"""

from __future__ import annotations

from . import _profiles  # noqa: F401  (registers the fuzz-ci / fuzz-local profiles)
