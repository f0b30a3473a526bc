"""A lifespan startup that does not finish is said, with where each thread waits, instead of
hanging the test or ``hardening chaos`` in silence."""

from __future__ import annotations

import io
import threading

from pytest_hardening._harness_report import startup_watch


class _Said(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()

    def flush(self) -> None:
        self.done.set()


class _App:
    pass


def test_a_startup_past_its_time_says_where_it_waits() -> None:
    said = _Said()
    with startup_watch(_App(), seconds=0.01, out=said):
        # The startup that "hangs" until the watch has spoken (bounded: never a hang here).
        assert said.done.wait(30)
    text = said.getvalue()
    assert "the _App app's lifespan startup has not finished after 0.01 s" in text
    assert "test_a_startup_past_its_time_says_where_it_waits" in text  # this thread's stack


def test_a_startup_in_time_says_nothing() -> None:
    said = _Said()
    with startup_watch(_App(), seconds=30, out=said):
        pass
    assert said.getvalue() == ""
