"""gRPC resolves and connects in C: a channel's calls went past the socket guard to the host it
named (Google Cloud's Firestore and Pub/Sub clients among them), and nothing reported it. A
channel to a host off this machine is now recorded when it is made and pointed nowhere: its
calls fail at once with UNAVAILABLE."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import pytest

from pytest_hardening import NetworkGuard
from pytest_hardening._network_clients import client_advice
from pytest_hardening._network_grpc import grpc_hosts

grpc = pytest.importorskip("grpc")
grpc_aio = pytest.importorskip("grpc.aio")

NOWHERE = "pytest-hardening-blocked-grpc/"


@pytest.mark.parametrize(
    ("target", "hosts"),
    [
        ("firestore.googleapis.com:443", [("firestore.googleapis.com", 443)]),
        ("pubsub.googleapis.com", [("pubsub.googleapis.com", 443)]),
        ("dns:///api.example.com:50051", [("api.example.com", 50051)]),
        ("dns://8.8.8.8/api.example.com", [("api.example.com", 443)]),
        ("dns:api.example.com:8443", [("api.example.com", 8443)]),
        ("ipv4:10.0.0.1:50051,10.0.0.2", [("10.0.0.1", 50051), ("10.0.0.2", 443)]),
        ("ipv6:[2001:db8::1]:50051", [("2001:db8::1", 50051)]),
        ("[::1]:50051", [("::1", 50051)]),
        ("xds:///payments", [("payments", 443)]),
        ("localhost:50051", [("localhost", 50051)]),
        ("unix:/run/app.sock", []),
        ("unix:///run/app.sock", []),
        ("unix-abstract:app", []),
    ],
)
def test_the_hosts_a_channel_connects_to(target: str, hosts: list[tuple[str, int]]) -> None:
    assert grpc_hosts(target) == hosts


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    """A gRPC server of the test's own on 127.0.0.1, echoing ``/svc/Echo``."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("svc", {"Echo": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(None)


def call(channel: Any) -> Any:
    with channel:  # closed after: no channel of a test outlives it
        return channel.unary_unary("/svc/Echo")(b"ping", timeout=10)


def refused(channel: Any) -> Any:
    with pytest.raises(grpc.RpcError) as raised:
        call(channel)
    return raised.value


def test_a_channel_off_the_machine_is_recorded_and_its_calls_unavailable() -> None:
    with NetworkGuard() as guard:
        channel = grpc.insecure_channel("api.example.com:50051")
        assert [(b.host, b.port, b.via) for b in guard.blocked] == [
            ("api.example.com", 50051, "connect")
        ]
        error = refused(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert f"{NOWHERE}api.example.com_50051" in error.details()  # the error names it
    assert len(guard.blocked) == 1
    report = guard.report()
    assert report is not None
    assert "api.example.com:50051, from grpc" in report
    assert "FIRESTORE_EMULATOR_HOST" in report  # the emulator, whoever made the channel:
    assert "FIRESTORE_EMULATOR_HOST" in client_advice([("grpc (called by google, from app)", 443)])


def test_a_secure_channel_never_asks_its_credentials() -> None:
    asked: list[str] = []

    def token(context: Any, callback: Any) -> None:
        asked.append(context.service_url)  # a real plugin would fetch a token here
        callback((("authorization", "Bearer t"),), None)

    credentials = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(), grpc.metadata_call_credentials(token)
    )
    with NetworkGuard() as guard:
        error = refused(grpc.secure_channel("dns:///firestore.googleapis.com", credentials))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert guard.refused() == ["  firestore.googleapis.com:443, from grpc"]
    assert asked == []


def test_an_asyncio_channel_is_caught_too() -> None:
    async def main() -> Any:
        async with grpc_aio.secure_channel(
            "pubsub.googleapis.com:443", grpc.ssl_channel_credentials()
        ) as channel:
            with pytest.raises(grpc.RpcError) as raised:
                await channel.unary_unary("/google.pubsub.v1.Publisher/Publish")(b"", timeout=10)
            return raised.value

    with NetworkGuard() as guard:
        error = asyncio.run(main())
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert guard.refused() == ["  pubsub.googleapis.com:443, from grpc"]


def test_a_channel_on_this_machine_reaches_its_server(echo_port: int) -> None:
    with NetworkGuard() as guard:
        assert call(grpc.insecure_channel(f"localhost:{echo_port}")) == b"ping"
        assert call(grpc.insecure_channel(f"127.0.0.1:{echo_port}", options=[])) == b"ping"
    assert guard.blocked == []


def test_a_channel_kept_past_its_test_goes_on_failing_unrecorded() -> None:
    with NetworkGuard() as first:
        channel = grpc.insecure_channel(
            "api.example.com:50051", [("grpc.max_send_message_length", 64)]
        )
    with NetworkGuard() as second:
        assert refused(channel).code() == grpc.StatusCode.UNAVAILABLE
    assert first.refused() == ["  api.example.com:50051, from grpc"]
    assert second.blocked == []  # the test that made it said so


def test_the_channel_functions_are_the_real_ones_once_the_guard_stops() -> None:
    real = (grpc.insecure_channel, grpc.secure_channel, grpc_aio.insecure_channel)
    with NetworkGuard():
        assert grpc.insecure_channel is not real[0]
        assert grpc.insecure_channel.__wrapped__ is real[0]
    assert (grpc.insecure_channel, grpc.secure_channel, grpc_aio.insecure_channel) == real


def test_gemini_over_grpc_is_told_to_move_to_the_sdk_the_faults_reach() -> None:
    # google-generativeai speaks gRPC to Gemini: the advice named Firestore's emulator, which
    # Gemini has none of (a trial's).
    from pytest_hardening import FaultInjector

    gemini = {"gemini": "https://generativelanguage.googleapis.com"}
    with FaultInjector(gemini) as faults:
        refused(
            grpc.secure_channel(
                "generativelanguage.googleapis.com:443", grpc.ssl_channel_credentials()
            )
        )
        report = faults.problems_report()
    assert report is not None
    assert "the host of provider 'gemini'" in report
    assert "Gemini has no emulator: move the app to google-genai" in report
    assert "FIRESTORE_EMULATOR_HOST" not in report
