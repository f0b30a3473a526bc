"""Which client made a blocked connection, and what to do about it.

The network guard sees a socket; the person reading its report needs the client the app (or
a library of it) called, and how that client is mocked: faults reach httpx and httpx2 only, so
registering a provider helps no other client. A client a library drives on its own (an AWS
SDK's metrics or tracing daemon, say) is named with that library: turning it off in tests is
usually the fix, not a mock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import FrameType
from typing import Any

from ._code_files import code_file
from ._code_files import installed as installed_file
from ._thread_handoffs import handed_from

__all__ = [
    "OWN",
    "UNREACHED",
    "around_advice",
    "calling_client",
    "client_advice",
    "own_code",
]

#: Modules between a client library and the socket: never the client.
_PLUMBING = frozenset(
    {"socket", "ssl", "asyncio", "selectors", "concurrent", "threading", "contextlib", "functools"}
    | {"anyio", "sniffio", "trio", "aiohappyeyeballs", "pytest_hardening", "sentry_sdk"}
    | {"urllib", "http", "importlib", "runpy"}
    # Mocking libraries wrap a client's send and pass what they do not answer through: the
    # code that called the client is further out.
    | {"responses", "requests_mock", "aioresponses", "respx", "pook", "httpretty", "vcr"}
)
#: What an httpx or httpx2 client is said to be when the faults did not answer it.
UNREACHED = " (a transport the faults do not reach)"
#: Client libraries, by module prefix; the outermost one on the stack is what the app called.
_CLIENTS = {
    "urllib.request": "urllib",
    "http.client": "http.client",
    "requests": "requests",
    "urllib3": "urllib3",
    "aiohttp": "aiohttp",
    "boto3": "boto3",
    "botocore": "botocore",
    "websockets": "websockets",
    "aiohttp.client_ws": "aiohttp",
    "httpx": f"httpx{UNREACHED}",
    "httpx2": f"httpx2{UNREACHED}",
    "httpcore": f"httpx{UNREACHED}",
    "httpcore2": f"httpx2{UNREACHED}",
    "grpc": "grpc",
    # Database drivers and service clients that connect in Python: the walk goes on past
    # them to the library that called them (SQLAlchemy, a task queue's pool) and the app's
    # module; the C ones are named by the driver guard.
    **{driver: driver for driver in ("asyncpg", "psycopg", "pymysql", "aiomysql", "pymssql")},
    **{client: client for client in ("redis", "aioredis", "pymongo", "aiodns")},
}
#: How each client is mocked in a test: its own mocking library.
_MOCKS = {
    "boto3": "moto (`mock_aws`) or botocore's `Stubber`",
    "botocore": "moto (`mock_aws`) or botocore's `Stubber`",
    "requests": "responses or requests-mock",
    "urllib3": "responses (for requests) or a server on 127.0.0.1",
    "aiohttp": "aioresponses",
    "websockets": "a websockets server of the test's own on 127.0.0.1 (websockets.serve)",
    "redis": "fakeredis, or a Redis of the test's own on 127.0.0.1",
    "aioredis": "fakeredis (its aioredis API), or a Redis of the test's own on 127.0.0.1",
    "asyncpg": "a database of the test's own on 127.0.0.1",
    "psycopg": "a database of the test's own on 127.0.0.1",
    "psycopg2": "a database of the test's own on 127.0.0.1",
    "pymysql": "a database of the test's own on 127.0.0.1",
    "aiomysql": "a database of the test's own on 127.0.0.1",
    "MySQLdb": "a database of the test's own on 127.0.0.1",
    "pymssql": "a database of the test's own on 127.0.0.1",
    "pymongo": "mongomock, or a MongoDB of the test's own on 127.0.0.1",
    "motor": "mongomock-motor, or a MongoDB of the test's own on 127.0.0.1",
    "grpc": (
        "the service's emulator on 127.0.0.1, such as FIRESTORE_EMULATOR_HOST or "
        "PUBSUB_EMULATOR_HOST names, or a gRPC server of the test's own there (grpc.server)"
    ),
}
#: Clients that serve the app whichever library opened them: a gRPC service's channel, a
#: database driver's connection.
_APPS_OWN = frozenset(
    {"grpc", "asyncpg", "psycopg", "psycopg2", "pymysql", "aiomysql", "MySQLdb", "pymssql"}
)
_CALLED_BY = " (called by "
_FROM = ", from "
OWN = "'s own code"


def calling_client(found: str = "") -> str:
    """The client library that made this connection attempt (``found``: the one known to be
    it, such as grpc, whose connections are made in C, off the stack). Walking out from the
    socket: the outermost known client before the first other code (requests over urllib3 over
    http.client is "requests"; the app's own code, or an SDK, ends the walk), with that code's
    package when it is an installed library rather than the app (``botocore (called by
    aws_xray_sdk)``), and the app's module that called that library when there is one further
    out, on this thread's stack or on the one that handed this thread the work
    (``asyncio.to_thread``, ``run_in_executor``) (``requests (called by tiktoken, from
    app.tokens)``; none: the library connected by itself, from a thread or task of its own);
    else that other code's package (a client not listed, such as smtplib or redis); the
    module itself when the app's own code made the connection (a socket, or asyncio's
    ``open_connection``)."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        package = module.partition(".")[0]
        installed = _installed(frame)
        frame = frame.f_back
        client = _client_of(module)
        if client is not None:
            found = client
        elif package and package not in _PLUMBING:
            if found and installed:
                origin = own_code(frame)
                where = f"{_FROM}{origin}" if origin else ""
                return f"{found}{_CALLED_BY}{package}{where})"
            if not found and not installed:  # the app's own socket or asyncio call
                return f"{module}{OWN}"
            return found or package
    return found


def _installed(frame: Any) -> bool:
    return installed_file(code_file(frame))


def own_code(frame: FrameType | None) -> str:
    """The first module from ``frame`` out that is not an installed library or plumbing: the
    app's (or the test's) own code, which called the library. Past the end of a worker
    thread's stack, the code that handed it the work; empty when there is none."""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _PLUMBING and module and not _installed(frame):
            return module
        frame = frame.f_back
    return handed_from()


_HTTP_PORTS = {80, 443, 8080, 8443, None}


#: OpenTelemetry's exporters: OTLP over gRPC and over HTTP.
_OTLP_PORTS = {4317, 4318}
#: For an AWS endpoint, whichever client reached it (aiobotocore goes through aiohttp, where
#: aioresponses cannot answer it, and moto's mock_aws does not reach it).
_AWS = (
    "for an AWS endpoint, use moto (`mock_aws`) or botocore's `Stubber` with boto3, and with "
    "aiobotocore or aioboto3 a moto server on 127.0.0.1 (`ThreadedMotoServer`) that "
    "AWS_ENDPOINT_URL names"
)
_OTEL = (
    "for an OpenTelemetry exporter, leave its endpoint unset in the tests' environment "
    "(OTEL_EXPORTER_OTLP_ENDPOINT, or the app's own setting for it), or set "
    "OTEL_SDK_DISABLED=true for the exporters the SDK builds itself"
)


def client_advice(attempts: list[tuple[str, int | None]], hosts: list[str] | None = None) -> str:
    """What to do: providers answer only httpx and httpx2 calls, so registering a host helps
    those alone; any other client (redis, requests, a database driver) needs its mock or a
    server on 127.0.0.1, and a library that connects by itself is turned off in tests. An
    AWS endpoint (``hosts``) and an OpenTelemetry exporter get advice of their own."""
    otel = [(c, p) for c, p in attempts if "opentelemetry" in c or p in _OTLP_PORTS]
    aws = any(host.endswith(".amazonaws.com") for host in hosts or ())
    attempts = [a for a in attempts if a not in otel]
    special = [*([_AWS] if aws else []), *([_OTEL] if otel else [])]
    if not attempts:
        return "; ".join(special)
    if aws:  # the AWS advice says how: not the mock of the client underneath
        attempts = [(c, p) for c, p in attempts if _base(c) not in ("aiohttp", "botocore", "boto3")]
        if not attempts:
            return "; ".join(special)
    general = _client_advice(attempts)
    return "; ".join([*special, general])


def _client_advice(attempts: list[tuple[str, int | None]]) -> str:
    # A client an installed library called for the app (tiktoken's requests) is not the app's
    # to mock: the advice for that library says what to stand in for.
    # A gRPC channel is the app's client to its service whoever made it (a Google Cloud
    # library builds it for the app): pointed at an emulator, not turned off. So is a
    # database driver's connection an ORM opened for the app (SQLAlchemy, Django).
    clients = {
        _base(c)
        for c, _ in attempts
        if c
        and not c.startswith("httpx")
        and not c.endswith(OWN)
        and (not _caller(c) or _base(c) in _APPS_OWN)
    }
    others = sorted(clients)
    callers = sorted({_caller(c) for c, _ in attempts if _caller(c) and _base(c) not in _APPS_OWN})
    unknown = [port for c, port in attempts if not c or c.endswith(OWN)]  # no client library
    http = any(c.startswith("httpx") for c, _ in attempts) or any(
        port in _HTTP_PORTS for port in unknown
    )
    if any(port not in _HTTP_PORTS for port in unknown):
        others.append("the client on a non-HTTP port")
    if not others and not callers:
        return "mock the client, register the host as a provider"
    parts = []
    if others:
        parts.append(
            f"mock {', '.join(others)} in the test{_mocks(clients)}, or point it at a server "
            "on 127.0.0.1"
        )
    on_their_own = [c for c in callers if _FROM not in c]
    if on_their_own:
        parts.append(
            f"{', '.join(on_their_own)} connected by itself: turn it off in the tests' "
            "environment (its own setting) rather than mock its client"
        )
    for library, origin in (c.split(_FROM) for c in callers if _FROM in c):
        parts.append(
            f"{library} connected when {origin} called it: stand in for that call in the test "
            f"(monkeypatch what {origin} calls of {library}), or give {library} beforehand what "
            "it fetches (a cache, a setting of its own): but a program it then starts (a "
            "downloaded binary) runs outside the guard, which holds in this process only"
        )
    if http:
        parts.append("register the hosts the app reaches over HTTP through httpx as providers")
    return "; ".join(parts)


def around_advice(clients: list[str], hosts: Iterable[str] = ()) -> str:
    """What to do when a registered provider's host (of ``hosts``) was reached through another
    client."""
    bases = {_base(c) for c in clients}
    how = "send them through httpx, or mock that client in the test"
    if bases & {"boto3", "botocore"}:  # boto3 cannot send through httpx
        how = "mock them with moto (`mock_aws`) or botocore's `Stubber` instead of a provider"
    elif "grpc" in bases and any(h.endswith(_GEMINI_HOSTS) for h in hosts):
        # google-generativeai speaks gRPC to Gemini, which has no emulator to point it at.
        how = (
            "Gemini has no emulator: move the app to google-genai, which sends through httpx2 "
            "(the faults reach it), or give the test a grpc.server of its own on 127.0.0.1"
        )
    elif bases & set(_MOCKS):
        how += _mocks(bases)
    return (
        "faults and healthy answers reach a provider only through httpx and httpx2; these "
        f"calls went through {', '.join(clients)}: {how}"
    )


#: Gemini's and Vertex AI's hosts (a regional Vertex AI host ends the same way).
_GEMINI_HOSTS = ("generativelanguage.googleapis.com", "aiplatform.googleapis.com")


def _mocks(clients: set[str]) -> str:
    known = sorted({_MOCKS[c] for c in clients if c in _MOCKS})
    return f" ({'; '.join(known)})" if known else ""


def _base(client: str) -> str:
    return client.partition(_CALLED_BY)[0]


def _caller(client: str) -> str:
    return client.partition(_CALLED_BY)[2].rstrip(")")


def _client_of(module: str) -> str | None:
    for prefix, name in _CLIENTS.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None
