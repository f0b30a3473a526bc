"""``python -m reference_app``: serve the app with uvicorn on 127.0.0.1.

Port: ``--port``, else ``PORT``, else 8080. A refused configuration exits with status 1 and the
one error listing every problem (no traceback; problems never contain values); with a valid
``SENTRY_DSN`` the refusal is reported to Sentry first, and flushed before the exit.

Server limits (docs/production-checklist.md): idle keep-alive connections are kept 75 s (longer
than the 60 s load balancers keep theirs, else they meet closed connections: intermittent
502s); a connection must send its request headers within HEADER_TIMEOUT_SECONDS and each body
chunk within BODY_TIMEOUT_SECONDS; the shutdown grace covers one request budget.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

__all__ = ["main"]

DEFAULT_PORT = 8080


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError(port)
    return port


def _exit_after_graceful_shutdown(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reference_app", description="Serve the reference app with uvicorn."
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=None, help="default: $PORT, else 8080")
    args = parser.parse_args(argv)
    port = args.port
    if port is None:
        try:
            port = _port(os.environ.get("PORT", str(DEFAULT_PORT)))
        except ValueError:
            parser.error("PORT must be an integer between 1 and 65535")

    from reference_app.config import ConfigurationError, load_settings
    from reference_app.observability import RequestIdLogFilter

    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s [%(request_id)s]: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdLogFilter())
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"reference_app: refusing to start: {exc}", file=sys.stderr)
        from reference_app.observability import report_refused_boot

        report_refused_boot(exc)
        return 1
    # Imported only once the configuration is known to be good: a refusal stays fast.
    import uvicorn

    from reference_app import create_app
    from reference_app._server import server_options

    app = create_app(settings)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal (exit status -15).
    # SIGTERM is how platforms stop a healthy deployment, so a graceful stop exits 0.
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    # After the graceful stop, the heap (the SDKs' pydantic models are most of it) is frozen
    # instead of garbage-collected on the way out: about a second less to exit. Sentry's flush
    # and every other exit handler still run.
    atexit.register(gc.freeze)
    uvicorn.run(app, host=args.host, port=port, **server_options(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
