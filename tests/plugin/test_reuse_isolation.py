"""Tests that share one running reference app (reset between them) cannot observe each other:
a pair run in both orders and in separate xdist workers gives the same outcome, and in one
process the app really was shared (otherwise this would prove nothing about reuse)."""

from __future__ import annotations

import json

import pytest

PAIR = """
import json, os, pathlib, sqlite3
import pytest

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}
LOG = pathlib.Path(os.environ["REUSE_LOG"])


def _log(name, app):
    with LOG.open("a") as out:
        out.write(json.dumps({"test": name, "app": id(app), "pid": os.getpid()}) + "\\n")


def test_dirty(hardened_app, hardened_client, faults, breakers, sentry_events, apm, name="dirty"):
    _log(name, hardened_app)
    hardened_client.cookies.set("session", "from-dirty")
    assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    faults.fail("exotel", 503)
    for _ in range(5):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 202
    breakers.force_open("openai")
    assert breakers.state("exotel") == "OPEN"
    hardened_client.get("/api/test/send-otp")
    assert apm.endpoint("POST /api/calls").count == 6
    assert os.environ["EXOTEL_API_KEY"]


def test_dirty_again(hardened_app, hardened_client, faults, breakers, sentry_events, apm):
    # the same test once more: run after clean, it sees the app as a first test would
    test_dirty(hardened_app, hardened_client, faults, breakers, sentry_events, apm, "dirty_again")


@pytest.mark.asyncio
async def test_async_writer(hardened_async_client):
    # outside the pool (an async client's app is its own), on the session's database
    assert (await hardened_async_client.post("/api/calls", json=CALL)).status_code == 201


@pytest.mark.asyncio
async def test_async_clean(hardened_async_client):
    # its own app, on the session's database: reset once started, it holds no other test's row
    assert (await hardened_async_client.post("/api/calls", json=CALL)).status_code == 201
    path = os.environ["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (1,)


def test_clean(hardened_app, hardened_client, sentry_events):
    # Seen through the app itself, not through fixtures that reset what they show.
    _log("clean", hardened_app)
    assert not hardened_client.cookies
    states = {name: b.state for name, b in hardened_app.state.breakers.items()}
    assert set(map(str, states.values())) == {"CLOSED"}, states
    assert all(not b.transitions for b in hardened_app.state.breakers.values())
    apm = hardened_app.state.apm
    assert apm.endpoint("POST /api/calls").count == 0
    assert list(apm.alerts) == []
    assert sentry_events.events == [] and sentry_events.transactions == []
    # no row of the other test: the fresh call is the only one the database holds
    assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    path = os.environ["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (1,)
"""


FAST = ("-p", "no:hypothesispytest", "-o", "asyncio_default_fixture_loop_scope=function")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\naddopts = -p pytest_hardening -p reference_app.testing -p no:cacheprovider\n"
    )
    return pytester


def _run(project: pytest.Pytester, order: tuple[str, ...], *args: str) -> list[dict[str, object]]:
    log = project.path / "log.jsonl"
    log.unlink(missing_ok=True)
    project.makepyfile(test_pair=PAIR)
    selected = [f"test_pair.py::test_{name}" for name in order]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REUSE_LOG", str(log))
        if "-n" in args:
            # xdist workers are processes anyway; each loads only the plugins it needs: the
            # others installed here (hypothesis, randomly ...) cost a second in every process.
            patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
            outcome = project.runpytest_subprocess("-p", "xdist", *args, *selected)
        else:
            outcome = project.runpytest("-p", "no:randomly", *FAST, *args, *selected)
    outcome.assert_outcomes(passed=len(order))
    if not log.exists():  # only async tests ran: they log nothing
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_shared_app_leaks_nothing_in_either_order(project: pytest.Pytester) -> None:
    # dirty then clean, and clean then dirty (once more), in one process: one app for all three
    order = ("dirty", "clean", "dirty_again")
    runs = _run(project, order)
    assert [r["test"] for r in runs] == list(order)
    assert len({r["app"] for r in runs}) == 1, "the app was rebuilt: reuse did not happen"


@pytest.mark.slow(seconds=8)
def test_separate_workers_give_the_same_outcome(project: pytest.Pytester) -> None:
    runs = _run(project, ("dirty", "clean"), "-n", "2")
    assert sorted(r["test"] for r in runs) == ["clean", "dirty"]


def test_rows_written_outside_the_pool_are_reset_before_the_first_kept_test(
    project: pytest.Pytester,
) -> None:
    # The async test's app is not kept; the clean test then builds the app the pool keeps, on
    # the same database: it starts reset, as every later test taking it does.
    runs = _run(project, ("async_writer", "clean"))
    assert [r["test"] for r in runs] == ["clean"]


def test_an_async_tests_own_app_starts_reset(project: pytest.Pytester) -> None:
    # Not kept (its lifespan is the test's loop's), but given the reset once it started.
    assert _run(project, ("async_writer", "async_clean")) == []
