"""The reference app: a production-hardened FastAPI backend and pytest-hardening's first user.

Importing this package builds nothing: call :func:`create_app` for an app instance. The app
factory (and with it FastAPI, SQLAlchemy, httpx) is imported on first use, so tools that only
need the configuration (``hardening check-config``) stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reference_app.config import ConfigurationError, Settings, load_settings

if TYPE_CHECKING:
    from reference_app._app import create_app

__all__ = ["ConfigurationError", "Settings", "create_app", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from reference_app._app import create_app

        return create_app
    raise AttributeError(f"module 'reference_app' has no attribute {name!r}")
