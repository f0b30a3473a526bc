"""CachedGetters: the zero-argument functools-cached getters of a factory's package, cleared so
that each build reads its own environment."""

from __future__ import annotations

import functools
import itertools
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hardening._app import app_env, build_app
from pytest_hardening._cached_getters import CachedGetters

_names = itertools.count()

SETTINGS = """
import functools
import os


class Settings:
    def __init__(self):
        self.env = os.environ.get("APP_ENV", "none")


class Engine:
    \"\"\"Not settings: a resource the app keeps, as its own code would.\"\"\"


@functools.lru_cache
def get_settings():
    return Settings()


@functools.cache
def get_config():
    return type("AppConfig", (), {"region": os.environ.get("REGION", "eu")})()


@functools.cache
def get_engine():
    return Engine()


@functools.lru_cache(maxsize=32)
def price(item):
    return {"item": item, "env": os.environ.get("APP_ENV", "none")}


@functools.lru_cache
def region(default="eu"):
    return Settings()
"""

MAIN = """
from .settings import get_settings
from .vendored import library_default


def create_app():
    return {"built_with": get_settings().env}
"""


#: A library's cached getter, as the package imports it (defined in another package).
VENDORED = """
import functools


@functools.cache
def library_default():
    return object()


library_default.__module__ = "some_library.defaults"
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh package (settings + main) on sys.path, removed from sys.modules after."""
    name = f"cached_getters_app_{os.getpid()}_{next(_names)}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (root / "main.py").write_text(textwrap.dedent(MAIN))
    (root / "vendored.py").write_text(textwrap.dedent(VENDORED))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield name
    finally:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def _module(name: str) -> object:
    __import__(name)
    return sys.modules[name]


def test_finds_the_getters_without_parameters_in_the_factorys_package(package: str) -> None:
    main = _module(f"{package}.main")
    getters = CachedGetters(main.create_app)  # type: ignore[attr-defined]
    getters.clear()
    found = {g.__wrapped__.__name__ for g in getters.found}
    # Not price(item) nor region(default=...): they take arguments (a call may compute);
    # not library_default: defined in another package.
    assert found == {"get_settings", "get_config", "get_engine"}


def test_only_settings_are_cleared_an_engine_is_kept(
    package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, main = _module(f"{package}.settings"), _module(f"{package}.main")
    monkeypatch.setenv("REGION", "us")
    before = (settings.get_settings(), settings.get_config(), settings.get_engine())  # type: ignore[attr-defined]
    CachedGetters(main.create_app).clear()  # type: ignore[attr-defined]
    after = (settings.get_settings(), settings.get_config(), settings.get_engine())  # type: ignore[attr-defined]
    assert after[0] is not before[0]  # Settings: read again
    assert after[1] is not before[1]  # AppConfig: read again
    assert after[2] is before[2]  # Engine: kept


def test_each_build_reads_its_own_environment(package: str) -> None:
    main = _module(f"{package}.main")
    factory = main.create_app  # type: ignore[attr-defined]
    getters = CachedGetters(factory)
    dev = build_app(factory, {"APP_ENV": "development"}, clear=["APP_ENV"], getters=getters)
    prod = build_app(factory, {"APP_ENV": "production"}, clear=["APP_ENV"], getters=getters)
    assert (dev, prod) == ({"built_with": "development"}, {"built_with": "production"})


def test_the_block_clears_them_on_the_way_out_too(
    package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, main = _module(f"{package}.settings"), _module(f"{package}.main")
    monkeypatch.setenv("APP_ENV", "outside")
    with app_env(main.create_app, {"APP_ENV": "inside"}):  # type: ignore[attr-defined]
        assert settings.get_settings().env == "inside"  # type: ignore[attr-defined]
    assert settings.get_settings().env == "outside"  # type: ignore[attr-defined]


def test_a_partial_of_the_factory_names_the_same_package(package: str) -> None:
    main = _module(f"{package}.main")
    getters = CachedGetters(functools.partial(main.create_app))  # type: ignore[attr-defined]
    getters.clear()
    assert len(getters.found) == 3


def test_modules_imported_later_are_searched_again(package: str) -> None:
    _module(package)
    factory = type("Factory", (), {"__module__": package, "__call__": lambda self: None})()
    getters = CachedGetters(factory)
    getters.clear()
    assert getters.found == []  # only the package's __init__ is imported so far
    _module(f"{package}.settings")
    getters.clear()
    assert len(getters.found) == 3


def test_a_factory_without_a_module_clears_nothing() -> None:
    class NoModule:
        __module__ = None  # type: ignore[assignment]

        def __call__(self) -> None: ...

    getters = CachedGetters(NoModule())
    getters.clear()
    assert getters.found == []


FLAT_APP = '''
"""An app built at import, in a module of its own (no package), whose lifespan reads an
lru_cache'd settings getter."""
import functools
import os
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


class Settings:
    def __init__(self):
        self.chain = os.environ.get("LLM_CHAIN", "unset")


@functools.lru_cache
def get_settings():
    return Settings()


@asynccontextmanager
async def lifespan(app):
    app.state.chain = get_settings().chain
    yield


async def chain(request):
    return JSONResponse({"chain": request.app.state.chain})


app = Starlette(routes=[Route("/chain", chain)], lifespan=lifespan)
'''

CONFTEST = """
import pytest


@pytest.fixture
def hardening_app_factory():
    def the_app():  # an app built at import, handed over (docs/getting-started.md)
        from chain_app import app

        return app

    return the_app


@pytest.fixture
def hardening_dev_env():
    return {"LLM_CHAIN": "openai"}
"""

TWO_ENVIRONMENTS = """
import pytest


def test_first(hardened_client):
    assert hardened_client.get("/chain").json() == {"chain": "openai"}


class TestAnotherEnvironment:
    @pytest.fixture
    def hardening_dev_env(self):
        return {"LLM_CHAIN": "anthropic"}

    def test_second(self, hardened_client):
        assert hardened_client.get("/chain").json() == {"chain": "anthropic"}
"""


# The same app on FastAPI, its routes in an included router: FastAPI 0.16x includes it lazily
# (an _IncludedRouter, no endpoint of its own), and its getters were never found.
ROUTER_APP = (
    FLAT_APP.replace(
        "from starlette.applications import Starlette\n",
        "from fastapi import APIRouter, FastAPI, Request\n",
    )
    .replace("async def chain(request):", "async def chain(request: Request):")
    .replace(
        'app = Starlette(routes=[Route("/chain", chain)], lifespan=lifespan)',
        'router = APIRouter()\nrouter.add_api_route("/chain", chain)\n'
        "app = FastAPI(lifespan=lifespan)\napp.include_router(router)",
    )
)


@pytest.mark.parametrize("source", [FLAT_APP, ROUTER_APP], ids=["starlette", "fastapi-router"])
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_an_app_handed_over_from_conftest_has_its_getters_cleared(
    pytester: pytest.Pytester, order: str, source: str
) -> None:
    # The factory lives in conftest.py, so its package names none of the app's: the getters
    # are found through the app's own routes, once it is built.
    pytester.makepyfile(chain_app=source)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_chains=TWO_ENVIRONMENTS)
    ids = ["test_chains.py::test_first", "test_chains.py::TestAnotherEnvironment::test_second"]
    result = pytester.runpytest_inprocess(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-p",
        "no:asyncio",
        *(ids if order == "forward" else ids[::-1]),
    )
    result.assert_outcomes(passed=2)


FLAT_CONFIG = """
import functools
import os


class Settings:
    def __init__(self):
        self.app_env = os.environ.get("APP_ENV", "development")


@functools.lru_cache
def get_settings():
    return Settings()
"""

FLAT_MAIN = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from flatcfg import get_settings


def create_app():
    return Starlette(routes=[Route("/env", lambda r: JSONResponse(get_settings().app_env))])
"""

FLAT_TESTS = """
import pytest

from flatmain import create_app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}


def test_1_development(hardened_client):
    assert hardened_client.get("/env").json() == "development"


@pytest.mark.production
def test_2_production(hardened_client):
    assert hardened_client.get("/env").json() == "production"
"""


def test_a_flat_layouts_getter_beside_the_factorys_module_is_cleared(
    pytester: pytest.Pytester,
) -> None:
    # main.py beside config.py, no package: the getter is in neither the factory's package
    # nor a route's, and the production test read development settings.
    pytester.makepyfile(flatcfg=FLAT_CONFIG, flatmain=FLAT_MAIN, test_flat=FLAT_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)


PER_REQUEST_APP = """
import functools
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


class Settings:
    def __init__(self):
        self.upstream = os.environ.get("UPSTREAM_URL", "unset")


@functools.lru_cache
def get_settings():
    return Settings()


async def upstream(request):
    return JSONResponse({"upstream": get_settings().upstream})  # read at each request


app = Starlette(routes=[Route("/upstream", upstream)])
"""

READ_FIRST_CONFTEST = """
import os

import pytest

from pytest_hardening import app_from_import

os.environ["UPSTREAM_URL"] = "from-conftest"  # as many suites' conftests do


@pytest.fixture
def hardening_app_factory():
    if FACTORY == "app_from_import":
        return app_from_import("svcpkg.main:app")

    def handed_over():
        from svcpkg.main import app

        return app

    return handed_over


@pytest.fixture
def hardening_dev_env():
    return {"UPSTREAM_URL": "from-dev-env"}
"""

READ_FIRST_TESTS = """
from svcpkg.main import get_settings


def test_1_a_plain_test_reads_the_settings_first():
    assert get_settings().upstream == "from-conftest"


def test_2_hardened(hardened_client):
    assert hardened_client.get("/upstream").json() == {"upstream": "from-dev-env"}


def test_3_plain_again():
    assert get_settings().upstream == "from-conftest"


def test_4_hardened_again(hardened_client):
    assert hardened_client.get("/upstream").json() == {"upstream": "from-dev-env"}
"""


@pytest.mark.parametrize("factory", ["app_from_import", "handed over"])
def test_a_getter_a_plain_test_filled_first_is_cleared_before_the_apps_first_request(
    pytester: pytest.Pytester, factory: str
) -> None:
    # The app reads its settings at each request, through a getter that a plain test filled
    # under the conftest's environment: the hardened tests got that test's settings.
    # A package: the getters of modules beside conftest.py are found without the app.
    package = pytester.mkpydir("svcpkg")
    (package / "main.py").write_text(PER_REQUEST_APP)
    pytester.makeconftest(f"FACTORY = {factory!r}\n" + READ_FIRST_CONFTEST)
    pytester.makepyfile(test_order=READ_FIRST_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=4)
