"""A connection the check's network guard refused, swallowed by a client library that then
raises its own error (google.auth.default() probes the metadata server at 169.254.169.254,
catches the refusal, raises DefaultCredentialsError), read as the app refusing its
configuration: "expected the production build to succeed ...; it was refused:
DefaultCredentialsError", and the audit's "refused without naming the variable". No chain
links the error to the connection, so the check cannot judge such a build: it says so first,
naming the connection and what to do."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
from typing import Any

import pytest
from starlette.applications import Starlette

from pytest_hardening import ProdConfigChecker

KEY = "Zq8v3LmT1xR7pW2nK9dF4hJ6sB0cY5gA"


class DefaultCredentialsError(Exception):
    pass


def _cloud_client() -> None:
    """What google.auth.default() does without credentials: probe the metadata server,
    swallow the error, raise its own (no chain to the refusal)."""
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        return  # an emulator: anonymous credentials, no probe
    try:
        conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=1)
        conn.request("GET", "/computeMetadata/v1/project/project-id")
        conn.getresponse()
    except OSError:
        pass
    raise DefaultCredentialsError("Your default credentials were not found.")


def create_app() -> Starlette:
    if len(os.environ.get("SECRET_KEY", "")) < 16:
        raise ValueError("SECRET_KEY must be set")
    _cloud_client()
    return Starlette()


def test_a_known_good_build_failed_by_a_swallowed_refusal_is_not_judged() -> None:
    checker = ProdConfigChecker(create_app, {"SECRET_KEY": KEY})
    with pytest.raises(AssertionError) as info:
        checker.assert_accepts()
    first, advice = str(info.value).split("\n", 1)
    assert first.startswith("could not judge the production build with the known-good env: ")
    assert "169.254.169.254:80 (the cloud metadata server" in first
    assert "DefaultCredentialsError: Your default credentials were not found" in first
    assert "it was refused" not in str(info.value)
    assert "FIRESTORE_EMULATOR_HOST" in advice
    assert "lazily" in advice
    assert "hardening_prod_env" in advice
    assert checker.stopped_at is None  # not a stop at a connection: no verdict at all
    assert [line.split()[0] for line in checker.failed_after] == ["169.254.169.254:80,"]
    with pytest.raises(AssertionError) as info:
        checker.audit()
    assert str(info.value).startswith("could not judge the production build")
    assert "needs the known-good env to boot" in str(info.value)


def test_assert_rejects_says_it_could_not_judge_a_variant() -> None:
    checker = ProdConfigChecker(create_app, {"SECRET_KEY": KEY})
    with pytest.raises(AssertionError) as info:
        checker.assert_rejects(DEBUG="true")
    text = str(info.value)
    assert text.startswith("could not judge the production build with DEBUG changed: ")
    assert "169.254.169.254:80" in text.splitlines()[0]
    assert "the error does not name DEBUG" in text
    # A refusal that names the variable is the app's, whatever was refused before it.
    error = checker.assert_rejects(SECRET_KEY="short")
    assert "SECRET_KEY" in str(error)


def test_the_audit_does_not_count_a_variant_its_guard_failed_as_refused() -> None:
    env = {"SECRET_KEY": KEY, "FIRESTORE_EMULATOR_HOST": "localhost:8080"}
    report = ProdConfigChecker(create_app, env).audit()
    assert [str(m) for m in report.unjudged] == ["FIRESTORE_EMULATOR_HOST: dropped"]
    assert report.unnamed == []
    assert "FIRESTORE_EMULATOR_HOST: dropped" not in [str(m) for m in report.rejected]
    [finding] = [f for f in report.findings if "FIRESTORE" in f]
    assert finding.startswith(
        "could not judge FIRESTORE_EMULATOR_HOST: dropped (its build failed with "
        "DefaultCredentialsError after the check refused 169.254.169.254:80 (the cloud "
        "metadata server"
    )
    assert "1 not judged" in str(report).splitlines()[0]
    assert "PRODUCTION_OPTIONAL" in str(report)
    # Named optional (production runs without the emulator): not dropped, nothing unjudged.
    optional = ProdConfigChecker(create_app, env).audit(optional=["FIRESTORE_EMULATOR_HOST"])
    assert optional.unjudged == []


def test_a_refusal_the_known_good_build_went_past_leaves_a_variant_judged() -> None:
    # A log shipper refused at every build: the known-good one went on, so a variant's own
    # failure is the app's, as before.
    def shipping() -> Any:
        try:
            socket.create_connection(("logs.example.com", 514), timeout=1).close()
        except OSError:
            logging.getLogger(__name__).debug("log shipper unreachable")
        if "CACHE_URL" not in os.environ:
            raise RuntimeError("connection pool exhausted")  # names no variable
        return Starlette()

    report = ProdConfigChecker(shipping, {"CACHE_URL": "redis://cache"}).audit(optional=[])
    assert [str(m) for m in report.unnamed] == ["CACHE_URL: dropped"]
    assert report.unjudged == []


def test_a_startup_failed_by_a_swallowed_refusal_is_not_judged_either() -> None:
    # A client made in the lifespan, of another service than a cloud's: no metadata advice.
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        with contextlib.suppress(OSError):
            socket.create_connection(("licenses.example.com", 443), timeout=1).close()
        raise LookupError("no licence found")
        yield

    checker = ProdConfigChecker(lambda: Starlette(lifespan=lifespan), {"SECRET_KEY": KEY})
    with pytest.raises(AssertionError) as info:
        checker.assert_accepts()
    first, advice = str(info.value).split("\n", 1)
    assert first.startswith("could not judge the production build with the known-good env: ")
    assert "licenses.example.com:443 (name lookup; from " in first
    assert "no licence found" in first
    assert "cloud metadata server" not in str(info.value)
    assert "make the client lazily" in advice


def test_assert_rejects_says_the_accepted_build_runs_in_debug_mode() -> None:
    def debug_app() -> Starlette:
        return Starlette(debug=os.environ.get("DEBUG") == "true")

    with pytest.raises(AssertionError) as info:
        ProdConfigChecker(debug_app, {"SECRET_KEY": KEY}).assert_rejects(DEBUG="true")
    first = str(info.value).splitlines()[0]
    assert first.startswith("expected the production build to be refused with DEBUG changed")
    assert "in debug mode (app.debug is True" in first
    with pytest.raises(AssertionError) as info:
        ProdConfigChecker(debug_app, {"SECRET_KEY": KEY}).assert_rejects(DEBUG="false")
    assert "debug mode" not in str(info.value)


SHOP = """
import http.client
import os

from starlette.applications import Starlette


class DefaultCredentialsError(Exception):
    pass


def create_app():
    if os.environ.get("SECRET_KEY", "") in ("", "changethis"):
        raise ValueError("SECRET_KEY must be set")
    try:
        conn = http.client.HTTPConnection("metadata.google.internal", 80, timeout=1)
        conn.request("GET", "/computeMetadata/v1/project/project-id")
        conn.getresponse()
    except OSError:
        pass
    raise DefaultCredentialsError("Your default credentials were not found.")
"""

CONFTEST = f"""
import pytest
from shop import create_app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {{"SECRET_KEY": "{KEY}"}}
"""


def test_the_fixture_says_the_guard_refused_the_metadata_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(shop=SHOP)
    pytester.makeconftest(CONFTEST)
    pytester.syspathinsert()
    pytester.makepyfile(
        test_shop="""
        def test_known_good(prod_config):
            prod_config.assert_accepts()
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *AssertionError: could not judge the production build with the known-good env: "
            "the check's network guard refused its connection to metadata.google.internal:80 "
            "(the cloud metadata server; name lookup*DefaultCredentialsError*",
            "E *A cloud SDK's client asks the metadata server for credentials*lazily*",
        ]
    )
    assert "it was refused" not in result.stdout.str()
