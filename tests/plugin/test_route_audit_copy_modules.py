"""The production app's OpenAPI document is made while that build's own modules are in
``sys.modules``. A trial's app (FastAPI 0.165, a response model with a forward reference)
failed every ``assert_absent_in_production`` with pydantic's "not fully defined" when no
development build had run first: pydantic resolves a deferred reference through
``sys.modules[model.__module__]``, and the production copy imported aside was gone from it by
the time the document was made. The app below resolves through ``sys.modules`` the same way."""

from __future__ import annotations

import pytest

MAIN = """
import os
import sys

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

app = FastAPI()
if os.environ.get("ENVIRONMENT") == "local":
    dev = APIRouter()

    @dev.post("/dev/reset")
    def reset() -> dict:
        return {"ok": True}

    app.include_router(dev)


def openapi():
    # As pydantic resolves a deferred forward reference: through the module sys.modules holds.
    holder = sys.modules.get(__name__)
    if getattr(holder, "app", None) is not app:
        raise RuntimeError("resolved through another copy of the app's modules, or none")
    return get_openapi(title="shop", version="1", routes=app.routes)


app.openapi = openapi
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import


@pytest.fixture
def hardening_app_factory():
    return app_from_import("copyshop.main:app")


@pytest.fixture
def hardening_dev_env():
    return {"ENVIRONMENT": "local"}


@pytest.fixture
def hardening_prod_env():
    return {"ENVIRONMENT": "production"}
"""

TESTS = """
import pytest


def test_dev_routes_are_absent(route_audit):
    route_audit.assert_absent_in_production("/dev")


def test_the_document_is_served(route_audit):
    with pytest.raises(AssertionError, match="still reachable in production"):
        route_audit.assert_absent_in_production("/openapi.json")
"""


@pytest.mark.parametrize("test", ["test_dev_routes_are_absent", "test_the_document_is_served"])
def test_the_production_document_is_made_among_its_own_modules(
    pytester: pytest.Pytester, test: str
) -> None:
    package = pytester.mkpydir("copyshop")
    (package / "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest_inprocess(
        f"test_routes.py::{test}", "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
