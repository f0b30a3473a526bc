"""Time and rate bounds shared by the configuration rules and the app."""

from __future__ import annotations

#: Calls a merchant may place per minute (MERCHANT_RATE_LIMIT), per app instance.
DEFAULT_MERCHANT_RATE_LIMIT = 30
#: The most a call request may take end to end: below the 30 s most clients wait.
REQUEST_BUDGET_SECONDS = 25.0
#: SIGTERM's default grace: at least one request budget, so in-flight calls can finish.
DEFAULT_SHUTDOWN_GRACE_SECONDS = 30.0
#: Upper bounds on configured durations: anything longer is a typo (or ``1e308``).
MAX_PROVIDER_TIMEOUT_SECONDS = 120.0
MAX_BREAKER_OPEN_SECONDS = 3600.0
MAX_SHUTDOWN_GRACE_SECONDS = 600.0
