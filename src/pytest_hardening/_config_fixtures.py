"""The overridable configuration fixtures (``hardening_*``): how to build and reach the app.

Projects override them in conftest.py (or a plugin module such as ``reference_app.testing``);
the defaults here either work for any app following docs/architecture.md or explain what to
override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from ._config import AppFactory, NotConfigured
from ._wrapped import app_state

if TYPE_CHECKING:
    from ._kept import AppReset
    from ._providers import ProviderSpec

__all__ = [
    "CLIENT_FIXTURES",
    "hardening_apm",
    "hardening_app_factory",
    "hardening_app_reset",
    "hardening_backoff_modules",
    "hardening_breakers",
    "hardening_client_headers",
    "hardening_dev_env",
    "hardening_prod_env",
    "hardening_providers",
    "started_app",
]

CLIENT_FIXTURES = ("hardened_client", "hardened_async_client")


#: The factories the ``hardening_app_factory`` ini option named, one per spec for the session:
#: the same object for every test, so that the app it builds is kept and reused.
_INI_FACTORIES = pytest.StashKey[dict[str, AppFactory]]()


@pytest.fixture
def hardening_app_factory(request: pytest.FixtureRequest) -> AppFactory:
    """A zero-argument callable building the ASGI app from ``os.environ``."""
    spec = request.config.getini("hardening_app_factory")
    if spec:
        # Imported at the first build, under the test's environment (hardening_dev_env), and
        # again for production builds: a module that reads its settings at import (`app =
        # create_app()` at its end, as most do) would read the shell's instead.
        from ._fresh_import import app_from_import

        factories = request.config.stash.setdefault(_INI_FACTORIES, {})
        if str(spec) not in factories:
            factories[str(spec)] = app_from_import(str(spec))
        return factories[str(spec)]
    pytest.fail(
        "pytest-hardening needs to know how to build your app: override the "
        "`hardening_app_factory` fixture in conftest.py (return a zero-argument callable that "
        "builds the ASGI app from os.environ), or set `hardening_app_factory = "
        '"pkg.module:create_app"` in your pytest ini options.',
        pytrace=False,
    )


@pytest.fixture
def hardening_app_reset() -> AppReset | None:
    """How to reset the app so the next test can reuse it (default None: a fresh build and
    lifespan per test). Return ``reset(app)``, sync or async, that closes every breaker,
    zeroes metrics and empties database rows and caches: then ``hardened_client`` tests
    built from the same factory and env share one running app, reset before each test."""
    return None


@pytest.fixture
def hardening_dev_env() -> Mapping[str, str]:
    """Environment for development-mode builds (override to add variables)."""
    return {}


@pytest.fixture
def hardening_prod_env() -> Mapping[str, str]:
    """A known-good production environment (override it to use production features)."""
    return NotConfigured(
        "hardening_prod_env",
        "override the `hardening_prod_env` fixture to return a known-good production "
        "environment mapping (used by @pytest.mark.production, prod_config and route_audit)",
    )


@pytest.fixture
def hardening_providers() -> Mapping[str, ProviderSpec]:
    """Provider name -> URL/host pattern or ``Provider(url, healthy=...)``."""
    return {}


@pytest.fixture
def hardening_backoff_modules() -> Sequence[str]:
    """The app's own modules whose retry loops sleep between attempts (``time.sleep``,
    ``asyncio.sleep``, ``anyio.sleep``): under ``faults`` and ``clock`` those sleeps move the
    clock instead (``FaultInjector.virtual_backoff``), in the threads that serve the test (a
    background poller's stay real). Default: none."""
    return ()


@pytest.fixture
def hardening_client_headers() -> Mapping[str, str]:
    """Headers every hardened client (and chaos request) sends by default, e.g. an API key
    or a session cookie for apps whose routes require one."""
    return {}


@pytest.fixture
def hardening_probe_headers(hardening_client_headers: Mapping[str, str]) -> Mapping[str, str]:
    """Headers ``route_audit``'s requests to the production build send (by default
    ``hardening_client_headers``): a credential that build accepts, when its keys are not the
    development build's."""
    return hardening_client_headers


def started_app(request: pytest.FixtureRequest) -> Any:
    """The app with its lifespan running in the loop the test talks to it through."""
    for name in CLIENT_FIXTURES:
        if name in request.fixturenames:
            request.getfixturevalue(name)
    return request.getfixturevalue("hardened_app")


@pytest.fixture
def hardening_breakers(request: pytest.FixtureRequest) -> Any:
    """Name -> breaker, or a breaker library's registry; default app.state.breakers."""
    app = started_app(request)
    breakers = getattr(app_state(app), "breakers", None)
    if breakers is None:
        where = (
            "expose one, or"
            if app_state(app) is not None
            else f"a {type(app).__name__} app has no `state` (Starlette's), so"
        )
        pytest.fail(
            f"the app has no app.state.breakers mapping: {where} override the "
            "`hardening_breakers` fixture (name -> breaker: pybreaker, aiobreaker, "
            "circuitbreaker and purgatory breakers work as they are, and so does one of your "
            "own with a `state` and `force_open()`/`reset()`; a breaker kept elsewhere, in "
            "Redis, gets a small adapter: docs/fixtures.md; return {} for an app without "
            "breakers, to use `clock` or `breakers` all the same)",
            pytrace=False,
        )
    return breakers


@pytest.fixture
def hardening_apm(request: pytest.FixtureRequest) -> Any:
    """The app's APM registry; default app.state.apm, else prometheus_client's registry."""
    from ._apm import app_apm

    app = started_app(request)
    apm = app_apm(app)
    if apm is None:
        where = (
            "expose its APM registry there, or"
            if app_state(app) is not None
            else f"a {type(app).__name__} app has no `state` (Starlette's), so"
        )
        pytest.fail(
            f"the app has no app.state.apm (nor prometheus_client metrics in the default "
            f"registry): {where} override the `hardening_apm` fixture; metrics in a "
            "CollectorRegistry of the app's own are read from it: `def hardening_apm("
            "hardened_app): return THE_APP.module('app.metrics', hardened_app).REGISTRY` "
            "(or the module's registry itself, for a factory that is no app_from_import)",
            pytrace=False,
        )
    return apm
