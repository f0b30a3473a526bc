"""app_from_import: an app built at import is the app of the development tests, and the
production checks get their own build of it, imported beside the modules everyone holds."""

from __future__ import annotations

import builtins
import contextlib
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk

from pytest_hardening import (
    AppPool,
    EnvPatch,
    Harness,
    HarnessError,
    StaleImportWarning,
    app_from_import,
)
from pytest_hardening._build_modes import production_build

CONFIG = """
import os


class Settings:
    def __init__(self):
        self.env = os.environ.get("APP_ENV", "development")
        self.key = os.environ.get("PAY_KEY", "")
        if self.env == "production" and len(self.key) < 12:
            raise ValueError("PAY_KEY: needs at least 12 characters in production")


settings = Settings()
"""

MAIN = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from shopapp.config import settings

hits = []


def info(request):
    hits.append(1)
    return JSONResponse({"env": settings.env})


routes = [Route("/info", info)]
if settings.env != "production":
    routes.append(Route("/debug/settings", info))
app = Starlette(routes=routes)
"""

DEV = {"APP_ENV": "development"}
PROD = {"APP_ENV": "production", "PAY_KEY": "pk_live_0123456789"}


def _paths(app: object) -> set[str]:
    return {route.path for route in app.routes}  # type: ignore[attr-defined]


@pytest.fixture
def shopapp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = tmp_path / "shopapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text(CONFIG)
    (package / "main.py").write_text(MAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield tmp_path
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "shopapp"]:
            del sys.modules[name]


def test_other_environments_are_imported_beside_the_first(shopapp: Path) -> None:
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(DEV):
        dev = factory()
        assert dev is sys.modules["shopapp.main"].app  # what the tests' `import` sees
        assert factory() is dev
    with EnvPatch(PROD):
        # Not a production build: a development build under another environment, told once.
        with pytest.warns(StaleImportWarning, match=r"differing in APP_ENV, PAY_KEY\)"):
            prod = factory()
        assert prod is not dev
        assert factory() is prod  # kept for this environment
    assert _paths(dev) == {"/info", "/debug/settings"}
    assert _paths(prod) == {"/info"}
    # Nobody else sees the production build's modules.
    assert sys.modules["shopapp.main"].app is dev
    assert sys.modules["shopapp.config"].settings.env == "development"
    with (
        EnvPatch({"APP_ENV": "production"}),
        pytest.raises(ValueError, match="PAY_KEY"),
        pytest.warns(StaleImportWarning, match=r"differing in APP_ENV\)"),
    ):
        factory()
    assert sys.modules["shopapp.main"].app is dev
    with EnvPatch(DEV):
        assert factory() is dev


def test_a_package_imported_before_is_left_to_its_holders_and_the_build_imported_aside(
    shopapp: Path,
) -> None:
    # A test module's top (the app's own tests: `from main import app`), or a production
    # test's body, imported it under other settings. Imported again in place, its holders'
    # references would go stale: a patch by name then misses the code they call.
    with EnvPatch(PROD):
        import shopapp.main as imported_early
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(DEV), pytest.warns(StaleImportWarning, match="imported aside"):
        dev = factory()
    assert dev is not imported_early.app
    assert _paths(dev) == {"/info", "/debug/settings"}  # the development build all the same
    assert sys.modules["shopapp.main"] is imported_early  # its holders keep theirs
    assert sys.modules["shopapp.config"].settings.env == "production"
    with EnvPatch(DEV):
        assert factory() is dev  # no second warning, no second import


def test_a_production_build_first_is_never_what_the_tests_import(shopapp: Path) -> None:
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(PROD), production_build():
        prod = factory()
    assert "shopapp.main" not in sys.modules
    with EnvPatch(DEV):
        dev = factory()
    assert dev is sys.modules["shopapp.main"].app
    assert dev is not prod


FACTORY_MAIN = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from shopapp.config import settings  # read when this module is imported


def create_app():
    return Starlette(routes=[Route("/info", lambda r: JSONResponse({"env": settings.env}))])
"""


def test_a_factory_whose_module_reads_settings_at_import_is_called_in_each_environment(
    shopapp: Path,
) -> None:
    (shopapp / "shopapp" / "main.py").write_text(FACTORY_MAIN)
    factory = app_from_import("shopapp.main:create_app")
    with EnvPatch(DEV):
        first, second = factory(), factory()
    assert first is not second  # a factory builds for every build
    assert sys.modules["shopapp.config"].settings.env == "development"
    short = {"APP_ENV": "production", "PAY_KEY": "short"}
    with EnvPatch(short), production_build(), pytest.raises(ValueError, match="PAY_KEY"):
        factory()  # the production settings, read at the fresh import, refuse it
    with EnvPatch(PROD), production_build():
        assert factory() is not None
    assert sys.modules["shopapp.config"].settings.env == "development"  # put back


SENTRY_MAIN = """
import os

import sentry_sdk
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

sentry_sdk.init(dsn=os.environ["SENTRY_DSN"])  # once, when the module is imported


def boom(request):
    sentry_sdk.capture_message("boom")
    return JSONResponse({})


app = Starlette(routes=[Route("/boom", boom)])
"""


def test_sentry_initialised_at_import_reaches_every_tests_capture(shopapp: Path) -> None:
    (shopapp / "shopapp" / "main.py").write_text(SENTRY_MAIN)
    factory = app_from_import("shopapp.main:app")
    caller = sentry_sdk.get_global_scope().client
    env = {"SENTRY_DSN": "https://public@sentry.example/1"}
    pool = AppPool()
    try:
        # The first test imports the module and keeps the app running (a reset); the others
        # get that app again, kept or built.
        for reset in (lambda app: None, None, lambda app: None, None):
            with Harness(pool=pool) as harness:
                harness.build(factory, env, reset=reset)
                harness.client().get("/boom")
                assert [e.get("message") for e in harness.sentry.events] == ["boom"]
    finally:
        pool.close()
        kept = sentry_sdk.get_global_scope().client
        sentry_sdk.get_global_scope().set_client(caller)
        if kept is not caller:
            kept.close(timeout=0.0)


def test_a_target_without_an_attribute_says_how_to_name_it() -> None:
    with pytest.raises(ValueError, match=r"'package\.module:app'"):
        app_from_import("shopapp.main")


CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("shopapp.main:app")  # one factory: its builds are kept


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "PAY_KEY": "pk_live_0123456789"}
"""

DEVELOPMENT_FIRST = """
import pytest


def test_development(hardened_client, hardened_app):
    import shopapp.main

    assert hardened_client.get("/info").json() == {"env": "development"}
    assert shopapp.main.app is hardened_app  # the module the tests import is the app's
    assert shopapp.main.settings.env == "development"


def test_production_checks(prod_config, route_audit):
    prod_config.assert_rejects(drop=["PAY_KEY"])
    prod_config.assert_rejects(PAY_KEY="short")
    route_audit.assert_absent_in_production("/debug")
    assert route_audit.dev_only() == {("GET", "/debug/settings")}


@pytest.mark.production
def test_production_mode(hardened_client):
    import shopapp.main  # under production settings, when this test runs first

    assert hardened_client.get("/info").json() == {"env": "production"}
    assert hardened_client.get("/debug/settings").status_code == 404


def test_development_again(hardened_client):
    assert hardened_client.get("/debug/settings").json() == {"env": "development"}
"""


# The production checks first: their builds must not become what `import shopapp.main` gets.
PRODUCTION_FIRST = DEVELOPMENT_FIRST.replace("def test_development", "def test_z_development")


@pytest.mark.parametrize("tests", [DEVELOPMENT_FIRST, PRODUCTION_FIRST], ids=["dev", "prod"])
def test_the_fixtures_on_an_app_built_at_import(
    shopapp: Path, pytester: pytest.Pytester, tests: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shop=_sorted_by_name(tests))
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=4)


def _sorted_by_name(source: str) -> str:
    """The test functions of ``source`` in the order of their names (pytest runs file order)."""
    head, *blocks = source.split("\n\n\n")
    tests = [b for b in blocks if "def test_" in b]
    return "\n\n\n".join([head, *sorted(tests, key=lambda b: b.split("def ", 1)[1])]) + "\n"


def test_the_apps_own_tests_that_imported_it_at_their_top_keep_working(
    shopapp: Path, pytester: pytest.Pytester
) -> None:
    # The app's own tests import it at collection and patch by name; a hardened test's first
    # build used to import the package again in place, and their patches then missed the code
    # they called (a real request, in the trial that found it). What they hold reads nothing:
    # the modules that read the settings (main, config) are imported in place, beside it, and
    # nothing goes aside (a copy's own Sentry client, exceptions and module state split the
    # app in two for nothing).
    (shopapp / "shopapp" / "provider.py").write_text(
        "def fetch():\n    raise RuntimeError('the real provider was called')\n"
    )
    (shopapp / "shopapp" / "quotes.py").write_text(
        "from shopapp import provider\n\n\ndef quote():\n    return provider.fetch()\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_a_hardened="""
        def test_hardened(hardened_client):
            assert hardened_client.get("/info").json() == {"env": "development"}
        """,
        test_b_own="""
        from unittest.mock import patch

        from shopapp.quotes import quote  # at collection, before any build


        def test_own_patch_by_name():
            with patch("shopapp.provider.fetch", return_value=42):
                assert quote() == 42
        """,
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, warnings=0)


def test_variables_the_apps_import_sets_itself_are_part_of_its_environment(
    shopapp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django sets TZ when its settings load: the next build under the same settings finds it.
    monkeypatch.delenv("TZ", raising=False)
    main = shopapp / "shopapp" / "main.py"
    main.write_text('import os\nos.environ["TZ"] = "UTC"\n' + MAIN)
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(DEV), warnings.catch_warnings():
        warnings.simplefilter("error", StaleImportWarning)
        first = factory()
        assert factory() is first


PLAIN_MAIN = """
from starlette.applications import Starlette

breaker = object()  # module state a test reaches by name (a module-level breaker, a cache)
app = Starlette()
"""


def test_a_package_imported_before_whose_import_reads_no_variable_is_the_builds(
    shopapp: Path,
) -> None:
    # An app built at import with a module-level breaker, imported at a test module's top: its
    # import reads no variable, so the copy the tests hold is the app's, and what they reach
    # by name (the breaker a hardening_breakers hands over) is the app's own.
    (shopapp / "shopapp" / "main.py").write_text(PLAIN_MAIN)
    (shopapp / "shopapp" / "clients.py").write_text("calls = []\n")
    import shopapp.clients as held  # only a sibling of the app's module

    factory = app_from_import("shopapp.main:app")
    with EnvPatch(DEV), warnings.catch_warnings():
        warnings.simplefilter("error", StaleImportWarning)
        app = factory()
        assert app is sys.modules["shopapp.main"].app
        assert sys.modules["shopapp.clients"] is held
        with EnvPatch(PROD):
            assert factory() is app  # it reads nothing: every environment's app


def test_the_warning_names_the_module_imported_first_and_what_the_import_reads(
    shopapp: Path,
) -> None:
    with EnvPatch(PROD):
        import shopapp.config  # noqa: F401  (a test module's top: only the settings module)
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(DEV), pytest.warns(StaleImportWarning) as caught:
        factory()
    (message,) = [str(w.message) for w in caught]
    assert message.startswith("app_from_import: shopapp.config was imported before")
    # The variables whose value differs from the factory's making (PAY_KEY is unset in both).
    assert "reads APP_ENV, set otherwise for this build" in message
    assert "pk_live" not in message  # names, never values


DOTENV_MAIN = """
import os

from starlette.applications import Starlette

os.environ.setdefault("SESSION_SECRET", "from-the-packages-dotenv")  # load_dotenv, no override
SECRET = os.environ["SESSION_SECRET"]
app = Starlette()
"""


def test_a_variable_the_import_fills_in_itself_is_not_a_different_environment(
    shopapp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The harness clears what the production env names (SESSION_SECRET) before each build;
    # the import's own default then fills it again: the same app, not a copy aside.
    monkeypatch.delenv("SESSION_SECRET", raising=False)
    (shopapp / "shopapp" / "main.py").write_text(DOTENV_MAIN)
    factory = app_from_import("shopapp.main:app")
    with warnings.catch_warnings():
        warnings.simplefilter("error", StaleImportWarning)
        with EnvPatch(DEV):
            first = factory()
        with EnvPatch(DEV, clear=["SESSION_SECRET"]):
            assert factory() is first
    with EnvPatch({**DEV, "SESSION_SECRET": "a-test-of-its-own"}):
        with pytest.warns(StaleImportWarning, match=r"differing in SESSION_SECRET\)"):
            other = factory()
        assert other is not first
        assert sys.modules["shopapp.main"].SECRET == "from-the-packages-dotenv"


def test_every_production_build_is_a_fresh_import(shopapp: Path) -> None:
    # As a fresh process would: a lifespan whose shutdown undoes what the import started (a
    # scheduler) never runs twice on one object.
    factory = app_from_import("shopapp.main:app")
    with EnvPatch(PROD), production_build():
        first, second = factory(), factory()
    assert first is not second


STAMP_MAIN = """
import os
import time
from datetime import datetime, timezone
from time import time as unix_time

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

REGION = os.environ.get("STAMP_REGION", "eu")  # read at import: builds under "us" go aside


def now(request):
    stamps = {"datetime": datetime.now(timezone.utc).timestamp(), "time": time.time()}
    return JSONResponse({**stamps, "unix_time": unix_time(), "region": REGION})


app = Starlette(routes=[Route("/now", now)])
"""


@pytest.mark.parametrize("reset", [False, True])
@pytest.mark.parametrize("factory", ["THE_APP", "create_app"])
def test_the_clock_reaches_an_app_built_from_a_copy_imported_aside(
    shopapp: Path, pytester: pytest.Pytester, factory: str, reset: bool
) -> None:
    # The app's own conftest imports it at its top (under "eu"); the hardened builds (under
    # "us") get a copy aside, whose `from datetime import datetime` freezegun's scan of
    # sys.modules never saw: the app stamped real time while the test's clock had moved.
    # Also through a factory of the project's own that calls THE_APP() and then prepares
    # (its builds kept real time: the harness asked the factory it called for the copy).
    (shopapp / "shopapp" / "main.py").write_text(STAMP_MAIN)
    pytester.makeconftest(
        textwrap.dedent(
            """
        import pytest

        import shopapp.main  # noqa: F401  (the app's own tests import it at the top)
        from pytest_hardening import app_from_import

        THE_APP = app_from_import("shopapp.main:app")


        def create_app():
            app = THE_APP()
            return app  # prepared here (tables, fixtures' data)


        @pytest.fixture
        def hardening_app_factory():
            return {factory}


        @pytest.fixture
        def hardening_dev_env():
            return {"STAMP_REGION": "us"}


        def pytest_collection_modifyitems(items):
            items.sort(key=lambda item: item.name)  # the clock's test first
        """
        ).replace("{factory}", factory)
        + (RESET if reset else "")
    )
    pytester.makepyfile(
        """
        import time


        def test_a_moved_clock(clock, hardened_client):
            clock.advance(600)
            body = hardened_client.get("/now").json()
            assert body["region"] == "us"  # the copy aside
            target = clock.now().timestamp()
            for source in ("datetime", "time", "unix_time"):
                assert abs(body[source] - target) < 1, (source, body[source] - target)


        def test_b_real_time_again(hardened_client):
            body = hardened_client.get("/now").json()  # the same app, kept: no clock now
            assert abs(body["datetime"] - time.time()) < 60


        def test_c_moved_again(clock, hardened_client):  # kept (with a reset: by the pool)
            clock.advance(60)
            body = hardened_client.get("/now").json()
            assert abs(body["datetime"] - clock.now().timestamp()) < 1
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-W", "ignore"
    )
    result.assert_outcomes(passed=3)


RESET = """

@pytest.fixture
def hardening_app_reset():
    return lambda app: None  # the app keeps running between tests, in the session's pool
"""


SWITCH_MAIN = """
import os

from starlette.applications import Starlette

# A library's switch read under the app's top level (FastAPI() reads OTEL_..., pydantic its
# PYDANTIC_DISABLE_PLUGINS): the tests' environment gives it the same value as the build's.
TRACING = os.environ.get("LIBRARY_TRACING_SWITCH", "auto")
app = Starlette()
"""


def test_a_package_imported_first_whose_reads_the_build_leaves_alone_is_the_builds(
    shopapp: Path,
) -> None:
    (shopapp / "shopapp" / "main.py").write_text(SWITCH_MAIN)
    import shopapp.main as held  # a test module's top, at collection

    factory = app_from_import("shopapp.main:app")  # a conftest's, made beside it
    with EnvPatch(DEV), warnings.catch_warnings():
        warnings.simplefilter("error", StaleImportWarning)
        assert factory() is held.app
        assert factory() is held.app
    # A build that sets the variable the import read is another app.
    switched = EnvPatch({**DEV, "LIBRARY_TRACING_SWITCH": "off"})
    warned = pytest.warns(StaleImportWarning, match=r"differing in LIBRARY_TRACING_SWITCH\)")
    with switched, warned:
        assert factory() is not held.app


def test_an_accepted_variable_is_not_blamed_on_reading_settings_at_import(
    shopapp: Path,
) -> None:
    # The factory imports afresh for every production build already: the app simply accepts
    # the value, and the advice to use app_from_import would send the user in a circle.
    from pytest_hardening import ProdConfigChecker

    checker = ProdConfigChecker(app_from_import("shopapp.main:app"), PROD)
    with pytest.raises(AssertionError) as accepted:
        checker.assert_rejects(PAY_KEY="pk_live_9876543210")  # long enough: accepted
    assert "the app accepts them" in str(accepted.value)
    assert "needs app_from_import" not in str(accepted.value)
    checker.assert_rejects(PAY_KEY="short")  # what the app refuses is still refused


UNDER_PYTEST_APP = """
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

UNDER_PYTEST = "PYTEST_CURRENT_TEST" in os.environ  # as many apps check at import


def ping(request):
    return JSONResponse({"under_pytest": UNDER_PYTEST})


app = Starlette(routes=[Route("/ping", ping)])
"""

SAME_ENV_TESTS = """
import warnings

import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("under_pytest_app:app")
SEEN = []


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"X": "1"}


@pytest.mark.parametrize("n", [1, 2, 3])
def test_same_env_same_app(n, hardened_app, hardened_client):
    assert hardened_client.get("/ping").json() == {"under_pytest": True}
    SEEN.append(id(hardened_app))
    assert len(set(SEEN)) == 1, SEEN
"""


@pytest.mark.parametrize("imported_first", [False, True], ids=["factory-first", "test-first"])
def test_pytests_own_per_test_variable_does_not_make_another_app(
    pytester: pytest.Pytester, imported_first: bool
) -> None:
    # pytest gives PYTEST_CURRENT_TEST a value of its own for every test: an import that
    # reads it is the same app for every test, never a copy imported aside; with the test
    # module importing the app at its top, that very app.
    tests = SAME_ENV_TESTS
    if imported_first:
        tests = "import under_pytest_app\n" + tests.replace(
            "    SEEN.append(id(hardened_app))",
            "    assert hardened_app is under_pytest_app.app\n    SEEN.append(id(hardened_app))",
        )
    pytester.makepyfile(under_pytest_app=UNDER_PYTEST_APP, test_same_env=tests)
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-p",
        "no:asyncio",
        "-W",
        "error::UserWarning",
    )
    result.assert_outcomes(passed=3)


ONCE = """
import builtins

# pydantic v1 records every @validator's name for the whole process: a second import of the
# module is refused with this error (ConfigError).
names = builtins.__dict__.setdefault("_onceapp_validators", set())
if "onceapp.models.check" in names:
    raise ValueError(
        'duplicate validator function "onceapp.models.check"; if this is intended, set '
        "`allow_reuse=True`"
    )
names.add("onceapp.models.check")

from starlette.applications import Starlette

app = Starlette()
"""


def test_a_package_that_cannot_be_imported_twice_says_so_not_that_it_was_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builtins, "_onceapp_validators", set(), raising=False)
    with package_on_path(tmp_path, monkeypatch, "onceapp", models=ONCE):
        factory = app_from_import("onceapp.models:app")
        with EnvPatch(DEV):
            factory()  # the first import: fine
        with (
            EnvPatch(PROD),
            production_build(),
            pytest.raises(RuntimeError, match="cannot be imported a second time") as told,
        ):
            factory()
        assert "run the production tests (prod_config, route_audit" in str(told.value)
        assert "not the app refusing its configuration" in str(told.value)


@contextlib.contextmanager
def package_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, **modules: str
) -> Iterator[None]:
    """A package ``name`` of ``modules`` (module name -> source) importable inside, and
    forgotten by ``sys.modules`` after."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, text in modules.items():
        (package / f"{module}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield
    finally:
        for held in [n for n in sys.modules if n.partition(".")[0] == name]:
            del sys.modules[held]


def test_production_builds_are_freed_once_past(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The factory kept each copy's modules in a map from its app, and the modules hold the
    # app: every production build (an audit makes dozens) stayed alive for the session.
    import gc
    import weakref

    main = (
        "import os\nfrom starlette.applications import Starlette\n"
        "X = os.environ.get('X')\napp = Starlette()\n"
    )
    built = []
    with package_on_path(tmp_path, monkeypatch, "leaky", main=main):
        factory = app_from_import("leaky.main:app")
        for value in range(12):
            with EnvPatch({"X": str(value)}), production_build():
                built.append(weakref.ref(factory()))
        gc.collect()
        alive = sum(ref() is not None for ref in built)
        assert alive <= 4, f"{alive} of 12 production builds still alive"


BREAKERS = """
class Breaker:
    state = "CLOSED"

    def force_open(self):
        self.state = "OPEN"

    def reset(self):
        self.state = "CLOSED"


BREAKERS = {"pay": Breaker()}
"""


def test_breakers_of_the_tests_own_import_are_refused_naming_the_copys(shopapp: Path) -> None:
    # The tests imported the app first (a conftest's `from shopapp.breakers import BREAKERS`):
    # the app runs a copy imported aside, whose breakers are other objects. Inspecting the
    # tests' ones reads CLOSED whatever the app met (a trial's failure said only that).
    (shopapp / "shopapp" / "breakers.py").write_text(BREAKERS)
    (shopapp / "shopapp" / "main.py").write_text(MAIN + "\nfrom shopapp.breakers import BREAKERS\n")
    with EnvPatch(PROD):
        import shopapp.main  # type: ignore[import-not-found]
        from shopapp.breakers import BREAKERS as imported_early  # type: ignore[import-not-found]
    factory = app_from_import("shopapp.main:app")
    with Harness() as harness:
        with pytest.warns(StaleImportWarning):
            app = harness.build(factory, DEV)
        with pytest.raises(HarnessError) as refused:
            harness.inspect_breakers(imported_early)
        message = str(refused.value)
        assert "shopapp.breakers.BREAKERS of the tests' own import" in message
        assert "THE_APP.module('shopapp.breakers', hardened_app).BREAKERS" in message
        theirs = factory.module("shopapp.breakers", app).BREAKERS
        assert theirs is not imported_early
        assert harness.inspect_breakers(theirs).state("pay") == "CLOSED"


def test_a_factory_of_the_tests_own_around_the_app_shares_the_apps_import(
    shopapp: Path,
) -> None:
    # app_from_import("shopapp.main:app") for most tests, and a factory of the tests' own that
    # returns that app (after setting up Sentry, say) for others: under the same values, one
    # copy, the one `import shopapp.main` gives (a trial got a copy aside and a warning
    # blaming a conftest's import).
    (shopapp / "ownfactory.py").write_text(
        "def create_app():\n    from shopapp.main import app\n\n    return app\n"
    )
    first = app_from_import("shopapp.main:app")
    second = app_from_import("ownfactory:create_app", packages=["shopapp"])
    try:
        with EnvPatch(DEV):
            app = first()
            with warnings.catch_warnings():
                warnings.simplefilter("error", StaleImportWarning)
                assert second() is app is sys.modules["shopapp.main"].app
        with (
            EnvPatch({"APP_ENV": "staging"}),
            pytest.warns(
                StaleImportWarning, match=r"under another environment \(differing in APP_ENV\)"
            ),
        ):
            assert second() is not app  # other values: a copy aside, said as such
    finally:
        sys.modules.pop("ownfactory", None)


def test_a_sentry_factory_around_an_app_built_before_it_says_sentry_came_late(
    shopapp: Path,
) -> None:
    # A trial's: the Sentry factory's tests passed or failed by order: after a test of the
    # app's own factory had built the app, Sentry's FastAPI integration (which hooks what is
    # built after init) missed the event that carried the leak, and nothing said so.
    (shopapp / "sentryfactory.py").write_text(
        "import sentry_sdk\n\n"
        "sentry_sdk.init(dsn='https://k3y0123@o1.ingest.sentry.io/4', default_integrations=False)"
        "\n\n\ndef create_app():\n    from shopapp.main import app\n\n    return app\n"
    )
    first = app_from_import("shopapp.main:app")
    second = app_from_import("sentryfactory:create_app", packages=["shopapp"])
    client = sentry_sdk.get_client()
    try:
        with EnvPatch(DEV):
            app = first()
            with pytest.warns(StaleImportWarning, match=r"initialised Sentry at its import, but"):
                assert second() is app
    finally:
        sys.modules.pop("sentryfactory", None)
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(client)
