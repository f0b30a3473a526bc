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
