"""A WSGI app (Flask, Django's ``application``) handed to the plugin. A trial's Flask factory
was accepted, then every request answered 500 (``Flask.__call__() takes 3 positional
arguments but 4 were given``), and the route audit read those 500s as development routes
"still reachable in production": the app is refused where it is built, with the wrapper that
fixes it. Behind asgiref's ``WsgiToAsgi`` (which keeps it as ``.wsgi_application``) its route
table is read, and ``check-config --start`` says a WSGI app has nothing to start."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.routing import Map, Rule

from pytest_hardening import Harness, RouteAuditor, route_table
from pytest_hardening._cli import app as cli

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class FlaskLike:
    """What the plugin sees of a Flask app (Flask is no test dependency): a Werkzeug
    ``url_map``, ``wsgi_app``, and a WSGI ``__call__``."""

    def __init__(self, production: bool) -> None:
        rules = [Rule("/ping", methods=["GET"])]
        if not production:
            rules.append(Rule("/debug/reset", methods=["POST"]))
        self.url_map = Map(rules)

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)


class WsgiToAsgiLike:
    """asgiref's ``WsgiToAsgi`` as the plugin sees it: the WSGI app at ``.wsgi_application``."""

    def __init__(self, wsgi_application: Any) -> None:
        self.wsgi_application = wsgi_application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError  # never served here: the route table is read


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A bare WSGI callable, as Django's ``wsgi.py`` or a hand-written app exposes it."""
    start_response("200 OK", [])
    return [b""]


CONFTEST = """
import pytest

from tests.plugin.test_wsgi_apps import FlaskLike, application


@pytest.fixture
def hardening_app_factory(request):
    if "bare" in request.node.name:
        return lambda: application
    return lambda: FlaskLike(production=False)
"""

TESTS = """
def test_flask(hardened_client):
    hardened_client.get("/ping")


def test_bare(hardened_client):
    hardened_client.get("/ping")
"""


def test_a_wsgi_app_is_refused_at_setup_with_the_wrapper_to_use(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_wsgi=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(errors=2)  # at setup, not a 500 at the first request
    out = result.stdout.str()
    assert "returned a WSGI app (tests.plugin.test_wsgi_apps.FlaskLike" in out
    assert "returned a WSGI app (builtins.function" in out
    assert out.count("wrap it: return `a2wsgi.WSGIMiddleware(app)`") >= 2
    assert "asgiref.wsgi.WsgiToAsgi(app)" in out
    assert "takes 3 positional arguments" not in out


def test_a_wsgi_app_given_as_the_factory_is_named() -> None:
    # `hardening_app_factory` returning the app itself (Django's `application`), not a factory
    with Harness() as harness, pytest.raises(TypeError) as info:
        harness.build(application, {})
    assert "the app factory is a WSGI app (function: Flask, Django)" in str(info.value)
    assert "a2wsgi.WSGIMiddleware(app)" in str(info.value)


def test_the_route_audit_does_not_read_a_wsgi_apps_500s_as_reachable() -> None:
    auditor = RouteAuditor(lambda: FlaskLike(False), lambda: FlaskLike(True))
    assert auditor.dev_only() == {("POST", "/debug/reset")}  # its url_map is read
    with pytest.raises(TypeError) as info:  # not AssertionError("still reachable")
        auditor.assert_absent_in_production("/debug")
    assert "the production build is a WSGI app" in str(info.value)
    assert "a2wsgi.WSGIMiddleware(app)" in str(info.value)


def test_the_route_table_is_read_behind_asgirefs_wrapper() -> None:
    assert route_table(WsgiToAsgiLike(FlaskLike(False))) == {
        ("GET", "/ping"),
        ("POST", "/debug/reset"),
    }
    auditor = RouteAuditor(
        lambda: WsgiToAsgiLike(FlaskLike(False)), lambda: WsgiToAsgiLike(FlaskLike(True))
    )
    assert auditor.dev_only() == {("POST", "/debug/reset")}


WSGI_SERVICE = """
import os

from tests.plugin.test_wsgi_apps import FlaskLike, WsgiToAsgiLike


def create_app():
    if not os.environ.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is required in production")
    return FlaskLike(production=True)


def create_wrapped():
    return WsgiToAsgiLike(create_app())
"""


@pytest.mark.parametrize("factory", ["create_app", "create_wrapped"])
def test_check_config_start_says_a_wsgi_app_has_nothing_to_start(
    factory: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wsgisvc.py").write_text(WSGI_SERVICE)
    (tmp_path / "prod.env").write_text("APP_ENV=production\nSECRET_KEY=" + "k" * 40 + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    args = ["check-config", "--env-file", "prod.env", "--factory", f"wsgisvc:{factory}"]
    for start in (["--start"], []):
        result = CliRunner().invoke(cli, [*args, *start])
        assert result.exit_code == 0, result.output
        said = result.output
        assert "the app built (a WSGI app: nothing to start) with it" in said
        assert "built and started" not in said
        assert "the app was built, not started" not in said  # no startup to miss
        assert "note: the app is a WSGI app (Flask, Django): built, nothing to start" in said
