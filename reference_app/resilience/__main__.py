"""``python -m reference_app.resilience``: print one breaker's state timeline."""

from __future__ import annotations

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
