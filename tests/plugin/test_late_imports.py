"""Libraries an app imports late, where it first needs them (in a handler, under a frozen clock):
their transports and back-off are reached the moment the import finishes, and the pydantic
models they build while time is frozen work as in production."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import importlib.resources
import sys
from typing import Any

import httpx
import pydantic
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import Clock, FaultInjector, Harness, Provider
from pytest_hardening._import_watch import ImportWatch


def _orders(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": []})


PROVIDERS = {"shop": Provider("https://eu.shop.example", _orders)}


def _forget(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """The next ``import package`` runs it afresh, as an app's first import would; the modules
    are put back after the test."""
    for name in [m for m in sys.modules if m.partition(".")[0] == package]:
        monkeypatch.delitem(sys.modules, name)


# -- the import watch --------------------------------------------------------------------------
def test_the_watch_fires_once_per_import_of_a_watched_package_and_leaves_no_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _forget(monkeypatch, "backoff")
    _forget(monkeypatch, "colorsys")
    fired: list[bool] = []
    watch = ImportWatch({"backoff"}, lambda: fired.append("backoff._sync" in sys.modules))
    watch.start()
    try:
        import colorsys  # not watched

        assert fired == []
        import backoff  # a package importing its submodules: one call, once all ran

        assert fired == [True]
        import backoff._sync  # already imported: nothing runs

        assert fired == [True]
    finally:
        watch.stop()
    assert watch not in sys.meta_path
    # The modules keep their real loaders: resources and sources read as ever.
    assert type(backoff.__loader__).__name__ == "SourceFileLoader"
    assert backoff.__spec__ is not None
    assert backoff.__spec__.loader is backoff.__loader__
    assert importlib.resources.files(backoff).joinpath("__init__.py").is_file()
    assert colorsys.rgb_to_hsv(1, 0, 0)[2] == 1


def test_a_retry_library_first_imported_under_the_clock_backs_off_virtually(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _forget(monkeypatch, "backoff")
    with Clock() as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        import backoff  # after the start, as an app imports it where it first retries

        @backoff.on_exception(
            backoff.constant, httpx.HTTPError, interval=30, max_tries=3, jitter=None
        )
        def orders() -> httpx.Response:
            return httpx.get("https://eu.shop.example/orders").raise_for_status()

        faults.fail("shop", 503, times=2)
        assert orders().status_code == 200
        assert faults.retry_sleeps == [30.0, 30.0]
        assert clock.advanced == 60.0


def test_a_transport_first_imported_by_a_handler_meets_the_fakes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx-aiohttp reaches the network without httpcore (respx's seam). Here nothing imports
    # it until the first request, long after the build: no intercept_imported() anywhere.
    _forget(monkeypatch, "httpx_aiohttp")

    def create_app() -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return  # no lifespan
            from httpx_aiohttp import AiohttpTransport

            async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=2) as client:
                response = await client.get("https://eu.shop.example/orders")
            await send({"type": "http.response.start", "status": response.status_code})
            await send({"type": "http.response.body", "body": response.content})

        return app

    with Harness() as harness:
        faults = harness.fake_providers(PROVIDERS)
        harness.build(create_app, {})
        assert harness.client().get("/").json() == {"orders": []}
        faults.fail("shop", 503)
        assert harness.client().get("/").status_code == 503
        assert [c.outcome for c in faults.calls("shop")] == ["ok 200", "fail 503"]
        assert faults.problems_report() is None  # nothing went to the network


# -- pydantic under a frozen clock ---------------------------------------------------------------
def test_models_built_while_time_is_frozen_validate_real_dates() -> None:
    real_schema = pydantic.TypeAdapter(dt.datetime).json_schema()
    with Clock():
        from datetime import date, datetime  # what a module imported now binds: the fakes

        class Delivery(pydantic.BaseModel):
            at: datetime
            on: date

        class Later(pydantic.BaseModel, defer_build=True):
            at: datetime

        delivery = Delivery(at="2026-01-02T03:04:05Z", on="2026-01-02")  # type: ignore[arg-type]
        assert delivery.at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        assert delivery.model_dump_json() == '{"at":"2026-01-02T03:04:05Z","on":"2026-01-02"}'
        assert pydantic.TypeAdapter(list[date]).validate_python(["2026-01-02"]) == [
            dt.date(2026, 1, 2)
        ]
        assert pydantic.TypeAdapter(datetime).json_schema() == real_schema
        with pytest.raises(pydantic.ValidationError, match="datetime"):
            Delivery(at="not a time", on="2026-01-02")  # type: ignore[arg-type]
    # Built after the clock stopped, from the annotation it kept.
    assert Later(at="2026-01-02T03:04:05").at == dt.datetime(2026, 1, 2, 3, 4, 5)  # type: ignore[arg-type]


class _Event(pydantic.BaseModel, defer_build=True):  # defined before any clock, real classes
    at: dt.datetime
    on: dt.date


def test_a_model_defined_before_the_clock_and_built_under_it_validates() -> None:
    # The AI SDKs' response models: built on first use, which may be under the clock. pydantic
    # before 2.14 looks ``datetime.datetime`` up on the module while building the schema (where
    # freezegun has put its fake class), so its schema generator sees the real ones.
    from pydantic._internal import _generate_schema

    with Clock():
        assert dt.datetime is not _generate_schema.datetime.datetime  # the module's: the fake
        assert isinstance(dt.datetime.now(), _generate_schema.datetime.datetime)
        assert _generate_schema.datetime.date.today() == dt.date.today()
        assert _generate_schema.datetime.timezone is dt.timezone  # the rest: the real module
        event = _Event(at="2026-01-02T03:04:05Z", on="2026-01-02")  # type: ignore[arg-type]
    assert event.at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert event.on == dt.date(2026, 1, 2)


def _prepare_as_pydantic_2_8(source_type: Any, annotations: Any, config: Any) -> Any:
    """pydantic 2.7's and 2.8's ``datetime_prepare_pydantic_annotations``: the module looked
    up at each call, where freezegun has put its fake classes."""
    import datetime

    if source_type is datetime.datetime:
        return source_type, ["datetime schema"]
    return None


def test_pydantic_2_8s_date_matching_sees_a_real_annotation_under_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A trial's app (anthropic 0.x on pydantic 2.7): the SDK's first answer under the clock
    # failed to parse, "Unable to generate pydantic-core schema for datetime.datetime".
    from freezegun.api import real_datetime  # what a model annotated before the clock holds

    std = type(sys)("pydantic._internal._std_types_schema")
    std.datetime_prepare_pydantic_annotations = _prepare_as_pydantic_2_8  # type: ignore[attr-defined]
    std.PREPARE_METHODS = (_prepare_as_pydantic_2_8,)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pydantic._internal._std_types_schema", std)
    with Clock():
        [prepare] = std.PREPARE_METHODS  # type: ignore[attr-defined]
        assert dt.datetime is not real_datetime  # freezegun's, on the module
        assert prepare(real_datetime, [], {}) is not None  # the real class, as annotated
        assert prepare(dt.datetime, [], {}) is not None  # the fake one
        assert prepare(int, [], {}) is None
    with Clock():  # wrapped once, not again at each start
        assert (prepare,) == std.PREPARE_METHODS  # type: ignore[attr-defined]
    assert prepare(real_datetime, [], {}) == (real_datetime, ["datetime schema"])  # unfrozen


def test_a_handler_that_builds_a_model_under_the_clock_answers() -> None:
    app = FastAPI()

    @app.get("/slots")
    def slots() -> list[dict[str, Any]]:
        from datetime import datetime  # imported in the handler: the fake while frozen

        slot = pydantic.create_model("Slot", starts=(datetime, ...))
        return [slot(starts=datetime.now(dt.timezone.utc)).model_dump(mode="json")]

    start = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc)
    with Clock(start) as clock, TestClient(app) as client:
        assert client.get("/slots").json() == [{"starts": "2026-03-01T09:30:00Z"}]
        clock.advance(90)
        assert client.get("/slots").json() == [{"starts": "2026-03-01T09:31:30Z"}]


def test_async_back_off_of_a_late_import_is_virtual_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget(monkeypatch, "backoff")
    with Clock() as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        import backoff

        @backoff.on_exception(backoff.expo, httpx.HTTPError, factor=4, max_tries=3, jitter=None)
        async def orders() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return (await client.get("https://eu.shop.example/orders")).raise_for_status()

        faults.fail("shop", 503)
        with pytest.raises(httpx.HTTPStatusError):
            asyncio.run(orders())
        assert faults.retry_sleeps == [4.0, 8.0]
        assert clock.advanced == 12.0


def test_pydantic_v1_first_imported_under_the_clock_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FastAPI imports pydantic.v1 at its first route with a response model: under the clock
    # (a factory fixture that imports the app after `clock` started) its ConstrainedDate over
    # freezegun's FakeDate was a "metaclass conflict", and the build failed.
    # Put back after the test, the package's attribute too (`from pydantic import v1`).
    monkeypatch.setattr(pydantic, "v1", sys.modules["pydantic.v1"])
    for name in [n for n in sys.modules if n == "pydantic.v1" or n.startswith("pydantic.v1.")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        with Clock():
            types = importlib.import_module("pydantic.v1.types")
            assert issubclass(types.ConstrainedDate, dt.date)
    finally:
        for name in [n for n in sys.modules if n == "pydantic.v1" or n.startswith("pydantic.v1.")]:
            del sys.modules[name]
