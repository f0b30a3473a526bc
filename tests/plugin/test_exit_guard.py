"""After the session, a host the tests faked stays unreachable: a library's exit-time sender (the
OpenAI Agents SDK's trace exporter) would otherwise send what the tests made to the real host."""

from __future__ import annotations

import io
import socket

import pytest

from pytest_hardening import NetworkBlockedError, Provider
from pytest_hardening._exit_guard import ExitGuard, faked_hosts


def test_provider_urls_give_their_hosts_and_loopback_none() -> None:
    urls = {
        "openai": "https://api.openai.com/v1",
        "shops": "*.myshopify.com",
        "pay": "https://API.Example.com:8443",
        "local": "http://127.0.0.1:8001",
        "dev": "localhost:9000",
    }
    providers = {name: Provider(url) for name, url in urls.items()}
    assert faked_hosts(providers) == {"api.openai.com", "*.myshopify.com", "api.example.com"}


def test_the_guard_refuses_only_the_faked_names_and_says_so_once() -> None:
    out = io.StringIO()
    guard = ExitGuard({"api.openai.com", "*.myshopify.com"}, stream=out)
    real = socket.getaddrinfo
    guard.start()
    try:
        for name in ("api.openai.com", "API.OPENAI.COM.", b"acme.myshopify.com", "api.openai.com"):
            with pytest.raises(NetworkBlockedError, match="faked this host"):
                socket.getaddrinfo(name, 443)
        assert socket.getaddrinfo("127.0.0.1", 80)  # others resolve as before
    finally:
        guard.stop()
    assert socket.getaddrinfo is real
    assert guard.refused == ["api.openai.com", "API.OPENAI.COM.", "acme.myshopify.com"]
    assert out.getvalue().count("refused api.openai.com after the test session") == 1


@pytest.mark.slow(seconds=1.5)  # a pytest process of its own: the exit is the point
def test_an_exit_time_sender_meets_a_refusal(pytester: pytest.Pytester) -> None:
    # What the Agents SDK does: an atexit handler, registered when the library is imported,
    # sends at interpreter exit, after every fixture and guard of the session is gone.
    report = pytester.path / "at_exit.txt"
    pytester.makepyfile(
        f"""
        import atexit, socket

        import httpx
        import pytest
        from pytest_hardening import Provider


        def send_at_exit():
            try:
                socket.getaddrinfo("traces.vendor.example", 443)
                outcome = "resolved"
            except Exception as exc:
                outcome = type(exc).__name__
            with open({str(report)!r}, "w") as out:
                out.write(outcome)


        atexit.register(send_at_exit)


        @pytest.fixture
        def hardening_app_factory():
            async def app(scope, receive, send):
                if scope["type"] == "http":
                    await send({{"type": "http.response.start", "status": 204, "headers": []}})
                    await send({{"type": "http.response.body", "body": b""}})
            return lambda: app


        @pytest.fixture
        def hardening_providers():
            return {{"traces": Provider("https://traces.vendor.example/v1")}}


        def test_one(hardened_client):
            assert hardened_client.get("/").status_code == 204
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert report.read_text() == "NetworkBlockedError"
    result.stderr.fnmatch_lines(["*refused traces.vendor.example after the test session*"])
