"""An app made at import with prometheus-fastapi-instrumentator and a module-level ``Counter`` of
the instrumentator's own name (a trial's app, load-shed API). ``route_audit`` started its
production copy and probed it outside the scope of that copy's metrics: the instrumentator,
which registers in its middleware (made at the app's first call), left the copy's names in the
default registry, and the development import after it failed on its ``Counter``
("Duplicated timeseries"). That failure was then remembered as the app's own import failure:
every later test of the session said "is not tried again", a plain ``hardened_client`` one too.

A production copy's metrics now go when each run of it ends, and an import refused only because
a collector registered before it held a name is tried again by the next build; a clash among
the app's own registrations is still remembered."""

from __future__ import annotations

import importlib.util
import re

import pytest

_RUN = ("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-p", "no:cacheprovider")

INSTRUMENTED = """
import os

from fastapi import FastAPI
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()
Instrumentator().instrument(app).expose(app)
# The app's own counter, of the name the instrumentator's default metric has.
REQUESTS = Counter("http_requests_total", "requests", ["method", "path", "status"])

if os.environ.get("APP_ENV") != "production":

    @app.get("/debug")
    def debug():
        return {"ok": True}
"""

# The same, without the instrumentator: a middleware of the app's own that registers its counter
# when it is made (at the app's first call) and, as the instrumentator does, records nothing
# when the name is taken.
HAND_WRITTEN = """
import os

from fastapi import FastAPI
from prometheus_client import Counter

REQUESTS = Counter("tiny_requests_total", "requests", ["path"])


class Counting:
    def __init__(self, app):
        self.app = app
        try:
            self.requests = Counter("tiny_requests_total", "requests", ["path"])
        except ValueError:
            self.requests = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.requests is not None:
            self.requests.labels(scope["path"]).inc()
        await self.app(scope, receive, send)


app = FastAPI()
app.add_middleware(Counting)

if os.environ.get("APP_ENV") != "production":

    @app.get("/debug")
    def debug():
        return {"ok": True}
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("svc:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}
"""

AUDIT_THEN_PLAIN = """
def test_1_debug_absent_in_production(route_audit):
    route_audit.assert_absent_in_production("/debug")


def test_2_dev_only(route_audit):
    assert route_audit.dev_only() == {("GET", "/debug")}


def test_3_a_later_plain_request(hardened_client):
    assert hardened_client.get("/debug").status_code == 200
"""


@pytest.mark.parametrize("app", ["instrumentator", "hand-written middleware"])
def test_route_audit_then_a_plain_test_of_an_app_with_metrics_at_import(
    pytester: pytest.Pytester, app: str
) -> None:
    installed = importlib.util.find_spec("prometheus_fastapi_instrumentator") is not None
    if app == "instrumentator" and not installed:
        pytest.skip("prometheus-fastapi-instrumentator is not installed")
    pytester.makepyfile(svc=INSTRUMENTED if app == "instrumentator" else HAND_WRITTEN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_audit=AUDIT_THEN_PLAIN)
    pytester.syspathinsert()
    # A process of its own: the default registry is the process's.
    result = pytester.runpytest_subprocess(*_RUN)
    result.assert_outcomes(passed=3)


# A name held while the first test runs: its own Counter, gone at its end.
HELD = """
import pytest
from prometheus_client import REGISTRY, Counter

from pytest_hardening import app_from_import

THE_APP = app_from_import("svc:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}


@pytest.fixture
def held_name():
    counter = Counter("clash_total", "the test's own")
    yield
    REGISTRY.unregister(counter)
"""

# What registers before the clash is taken out with the failed import: the retry registers it.
CLASHING = """
from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

FIRST = Counter("first_total", "registered before the clash")
CLASH = Counter("clash_total", "the app's")

app = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
"""

HELD_THEN_GONE = """
def test_1_the_name_held(held_name, {fixture}):
    {fixture}.{use}


def test_2_the_name_free_again(hardened_client):
    assert hardened_client.get("/ping").text == "pong"
"""


@pytest.mark.parametrize(
    ("fixture", "use", "first"),
    [
        ("hardened_client", "get('/ping')", "errors"),
        ("route_audit", "dev_app", "failed"),  # a build outside the harness
    ],
)
def test_an_import_refused_for_a_name_held_before_it_is_tried_again(
    pytester: pytest.Pytester, fixture: str, use: str, first: str
) -> None:
    pytester.makepyfile(svc=CLASHING)
    pytester.makeconftest(HELD)
    pytester.makepyfile(test_held=HELD_THEN_GONE.format(fixture=fixture, use=use))
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(*_RUN)
    result.assert_outcomes(passed=1, **{first: 1})
    output = result.stdout.str()
    assert "Duplicated timeseries" in output
    assert "not tried again" not in output


SELF_CLASH = """
from prometheus_client import Counter
from starlette.applications import Starlette

ONE = Counter("twice_total", "the app's")
TWO = Counter("twice_total", "the app's, again")

app = Starlette()
"""

TWO_PLAIN = """
def test_1(hardened_client):
    pass


def test_2(hardened_client):
    pass
"""


def test_a_clash_of_the_apps_own_registrations_is_still_not_tried_again(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(svc=SELF_CLASH)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_self=TWO_PLAIN)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(*_RUN)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "ERROR test_self.py::test_1 - *Duplicate*",  # DuplicateTimeseries, or a ValueError
            "ERROR test_self.py::test_2 - pytest_hardening.*AppImportFailed*",
        ]
    )
    assert re.search(r"is not tried again: \w+: Duplicated timeseries", result.stdout.str())


BOTH_IN_ONE = """
def test_served_and_audited(hardened_client, route_audit):
    assert hardened_client.get("/debug").status_code == 200
    route_audit.assert_absent_in_production("/debug")
    assert hardened_client.get("/debug").status_code == 200  # the development app still counts
"""


def test_one_test_serving_the_app_and_auditing_its_routes(pytester: pytest.Pytester) -> None:
    # The client's scope covers the whole test: the production copy's scope inside it did
    # nothing, and the copy's module-level Counter met the development app's, alive and in use
    # ("Duplicated timeseries").
    pytester.makepyfile(svc=HAND_WRITTEN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_both=BOTH_IN_ONE)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(*_RUN)
    result.assert_outcomes(passed=1)
