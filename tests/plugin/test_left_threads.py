"""A thread the app starts in its startup and never stops keeps running after the test: its
next call lands in a later test, whose faults answer it and whose call log counts it (a
trial's test passed on the previous test's retry). A harness that built its own app names
such threads after the app's shutdown; one the app stops there, and a kept app's, are not."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pytest_hardening import AppPool, Harness, LeftRunningWarning

from ._left_thread_app import create_app


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # the thread left running ends with the test


def test_a_thread_left_running_after_the_shutdown_is_named(release: threading.Event) -> None:
    harness = Harness(seed=1)
    harness.build(lambda: create_app(release, stop_at_shutdown=False), {})
    harness.client()
    with pytest.warns(LeftRunningWarning) as seen:
        harness.close()
    [warning] = seen
    said = str(warning.message)
    assert said.startswith(
        "thread(s) the app started are still running after its shutdown: StartupSync "
        "(tests.plugin._left_thread_app.create_app.<locals>.lifespan.<locals>.sync_job). What "
        "they call from now on"
    )
    assert "Stop them in the app's shutdown" in said


def test_a_thread_the_app_stops_at_shutdown_is_not(
    release: threading.Event, recwarn: pytest.WarningsRecorder
) -> None:
    with Harness(seed=1) as harness:
        harness.build(lambda: create_app(release, stop_at_shutdown=True), {})
        harness.client()
    assert not [w for w in recwarn if issubclass(w.category, LeftRunningWarning)]


def test_a_kept_apps_thread_is_not(
    release: threading.Event, recwarn: pytest.WarningsRecorder
) -> None:
    pool = AppPool()
    try:
        with Harness(seed=1, pool=pool) as harness:  # kept running for the next test
            harness.build(
                lambda: create_app(release, stop_at_shutdown=False), {}, reset=lambda app: None
            )
            harness.client()
        assert not [w for w in recwarn if issubclass(w.category, LeftRunningWarning)]
    finally:
        pool.close()
