"""An app factory that boots with any environment (what --audit must catch)."""

from __future__ import annotations

from starlette.applications import Starlette


def create_app() -> Starlette:
    return Starlette()
