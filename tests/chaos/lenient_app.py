"""An app factory that boots with any environment (what --audit must catch)."""

from __future__ import annotations

from starlette.applications import Starlette


def create_app() -> Starlette:
    return Starlette()


def create_broken_app() -> Starlette:
    """A factory that never boots, whatever the environment: a crash, not a refusal."""
    raise RuntimeError("Table 'user' is already defined for this MetaData instance")
