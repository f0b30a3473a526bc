"""No way out: while faults are active, connections off this machine are refused and recorded
whichever client makes them, and fail the report even when the app swallows the error."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.server
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest

from pytest_hardening import FaultInjector, NetworkBlockedError, NetworkGuard

# TEST-NET addresses (RFC 5737): never routed, so a guard failure cannot reach anybody.
OFF_HOST = "192.0.2.10"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _swallow(call: object, *args: object) -> None:
    """What a careless app does: catch everything and carry on."""
    with contextlib.suppress(Exception):
        call(*args)  # type: ignore[operator]


def test_urllib_and_httpx2_to_unregistered_hosts_fail_the_report_although_swallowed() -> None:
    with FaultInjector({"pay": "https://api.pay.example"}) as faults:
        _swallow(lambda: urllib.request.urlopen("https://metrics.example.org/push", timeout=2))
        _swallow(lambda: httpx2.get("https://tracker.example.net/beacon"))
        report = faults.problems_report()
    assert report is not None
    assert "metrics.example.org:443" in report
    assert "GET https://tracker.example.net/beacon" in report
    assert ("metrics.example.org", 443, "resolve") in faults.blocked


def test_a_provider_called_through_another_client_is_named_with_that_client() -> None:
    # The host is a registered provider, but urllib does not go through httpx: no fault or
    # healthy answer can reach it, and "register the host as a provider" would mislead.
    with FaultInjector({"rates": "https://rates.example"}) as faults:
        _swallow(lambda: urllib.request.urlopen("https://rates.example/eur", timeout=2))
        _swallow(lambda: urllib.request.urlopen("https://other.example/", timeout=2))
        report = faults.problems_report()
    assert report is not None
    assert "rates.example:443 (name lookup), from urllib: the host of provider 'rates'" in report
    assert "other.example:443 (name lookup), from urllib\n" in report  # not a provider
    assert "these calls went through urllib: send them through httpx" in report
    assert "register the host as a provider" not in report


def test_a_fault_on_a_provider_called_through_another_client_says_why_no_call_met_it() -> None:
    with FaultInjector({"rates": "https://rates.example"}) as faults:
        faults.allow_blocked()  # the test accepts the refusal ...
        faults.fail("rates", 503)  # ... but this fault can never reach urllib
        _swallow(lambda: urllib.request.urlopen("https://rates.example/eur", timeout=2))
        report = faults.problems_report()
    assert report is not None
    assert (
        "fail on provider 'rates' (status=503): never triggered: the app called its host through "
        "urllib, which faults do not reach (httpx and httpx2 only)" in report
    )
    assert "check the provider's URL" not in report  # the cause is known: no checklist


def test_the_library_the_app_called_is_named_not_the_one_beneath_it() -> None:
    import http.client

    with NetworkGuard() as guard:
        connection = http.client.HTTPConnection(OFF_HOST, 8080, timeout=2)
        _swallow(connection.request, "GET", "/")  # type: ignore[arg-type]
        _swallow(lambda: urllib.request.urlopen(f"http://{OFF_HOST}:8081/", timeout=2))
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:8080, from http.client" in report
    assert f"{OFF_HOST}:8081, from urllib" in report  # urllib over http.client: urllib


def test_the_client_named_is_the_one_the_app_called_not_the_tests_client_around_it() -> None:
    # An async test client runs the app in the test's own stack: httpx frames lie further out.
    async def app(scope: dict[str, object], receive: object, send: Any) -> None:
        _swallow(lambda: urllib.request.urlopen(f"http://{OFF_HOST}:8082/", timeout=2))
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/")).status_code == 204

    with NetworkGuard() as guard:
        asyncio.run(main())
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:8082, from urllib\n" in report


def test_urllib_error_is_an_ordinary_connection_failure() -> None:
    with FaultInjector({}), pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(f"http://{OFF_HOST}:8080/", timeout=2)
    assert isinstance(info.value.reason, ConnectionRefusedError)


def test_raw_sockets_are_refused_and_recorded() -> None:
    with NetworkGuard() as guard:
        with socket.socket() as sock:
            sock.settimeout(2)
            with pytest.raises(NetworkBlockedError, match=OFF_HOST):
                sock.connect((OFF_HOST, 25))
        with socket.socket(socket.AF_INET6) as sock6:
            assert sock6.connect_ex(("2001:db8::1", 443)) == errno.ECONNREFUSED
    assert [(b.host, b.port) for b in guard.blocked] == [(OFF_HOST, 25), ("2001:db8::1", 443)]
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:25" in report
    assert "2001:db8::1:443" in report


def test_asyncio_connections_are_refused() -> None:
    async def main() -> None:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection(OFF_HOST, 443), 2)
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            sock.setblocking(False)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.wait_for(loop.sock_connect(sock, (OFF_HOST, 80)), 2)
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(asyncio.Protocol, "api.remote.example", 443)

    with NetworkGuard() as guard:
        asyncio.run(main())
    hosts = [(b.host, b.port) for b in guard.blocked]
    assert hosts == [(OFF_HOST, 443), (OFF_HOST, 80), ("api.remote.example", 443)]


def test_aiohttp_is_refused() -> None:
    aiohttp = pytest.importorskip("aiohttp")

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get("http://api.remote.example/")

    with NetworkGuard() as guard:
        asyncio.run(main())
    assert guard.blocked


def test_lookups_through_c_ares_are_refused() -> None:
    # aiodns asks c-ares, which sends its DNS queries from C: aiohttp's default resolver when
    # aiodns is installed; a trial's lookups left the machine unseen. The resolvers here ask
    # only a nameserver on 127.0.0.1 (none runs): if the guard missed one, nothing leaves.
    aiohttp = pytest.importorskip("aiohttp")
    aiodns = pytest.importorskip("aiodns")
    nowhere = {"nameservers": ["127.0.0.1"], "timeout": 0.2, "tries": 1}

    async def main() -> None:
        resolver = aiohttp.AsyncResolver(**nowhere)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver)) as s:
            with pytest.raises(aiohttp.ClientConnectorDNSError, match="blocked"):
                await s.get("http://api.remote.example/")
        direct = aiodns.DNSResolver(**nowhere)
        with pytest.raises(NetworkBlockedError):
            await direct.query("mail.remote.example", "MX")
        with pytest.raises(NetworkBlockedError):
            await direct.gethostbyaddr("203.0.113.7")  # a reverse lookup asks the resolver
        assert (await direct.getaddrinfo("127.0.0.1", port=80)).nodes  # no query: allowed

    with NetworkGuard() as guard:
        asyncio.run(main())
    assert [(b.host, b.via) for b in guard.blocked] == [
        ("api.remote.example", "resolve"),
        ("mail.remote.example", "resolve"),
        ("203.0.113.7", "resolve"),
    ]
    report = guard.report()
    assert report is not None
    assert "  api.remote.example:80 (name lookup), from aiohttp\n" in report


def test_advice_for_a_client_the_providers_cannot_answer_is_not_to_register_a_provider() -> None:
    # redis.asyncio resolves in the loop's executor: no client on the stack, a Redis port.
    async def lookup() -> None:
        with pytest.raises(NetworkBlockedError, match=r"cache\.example\.com"):
            await asyncio.get_running_loop().getaddrinfo("cache.example.com", 6379)

    with NetworkGuard() as guard:
        asyncio.run(lookup())
    report = guard.report()
    assert report is not None
    # Refused on the loop's thread, so the report names the code that asked (in the executor's
    # thread the stack named nobody).
    assert f"cache.example.com:6379 (name lookup), from {__name__}'s own code" in report
    assert "mock the client on a non-HTTP port in the test, or point it at a server on " in report
    assert "register the host as a provider" not in report
    assert "register the hosts" not in report  # nothing here went over HTTP


def test_a_lookup_through_asyncio_names_the_module_that_asked() -> None:
    # What asyncpg does at an app's startup: asyncio.open_connection to a compose host.
    async def startup() -> None:
        with pytest.raises(NetworkBlockedError):
            await asyncio.open_connection("db", 5432)

    with NetworkGuard() as guard:
        asyncio.run(startup())
    assert guard.refused() == [f"  db:5432 (name lookup), from {__name__}'s own code"]
    assert asyncio.BaseEventLoop.getaddrinfo.__name__ == "getaddrinfo"  # put back


def test_loopback_stays_reachable(loopback_url: str) -> None:
    with FaultInjector({}) as faults:
        with urllib.request.urlopen(loopback_url, timeout=5) as response:  # noqa: S310
            assert response.read() == b"hello"
        localhost = loopback_url.replace("127.0.0.1", "localhost")
        with urllib.request.urlopen(localhost, timeout=5) as response:  # noqa: S310
            assert response.read() == b"hello"
        assert faults.problems_report() is None
    # httpx2 straight to the loopback server when only the guard is active
    with NetworkGuard() as guard, httpx2.Client() as http:
        assert http.get(loopback_url).text == "hello"
    assert guard.report() is None


def test_unix_sockets_stay_allowed(tmp_path: object) -> None:
    with (
        NetworkGuard() as guard,
        socket.socket(socket.AF_UNIX) as sock,
        pytest.raises(FileNotFoundError),
    ):
        sock.connect(str(tmp_path) + "/missing.sock")
    assert guard.blocked == []


def test_guard_is_off_with_block_network_false_and_after_stop() -> None:
    original = socket.socket.connect
    with FaultInjector({}, block_network=False) as faults:
        assert socket.socket.connect is original
        assert faults.blocked == []
    with NetworkGuard():
        assert socket.socket.connect is not original
    assert socket.socket.connect is original
    assert socket.getaddrinfo is not None


def test_nested_guards_restore_in_reverse_order() -> None:
    original = socket.socket.connect, socket.getaddrinfo
    with NetworkGuard() as outer, NetworkGuard() as inner:
        _swallow(lambda: socket.create_connection((OFF_HOST, 1), timeout=2))
    assert (socket.socket.connect, socket.getaddrinfo) == original
    assert inner.blocked  # the innermost guard sees it first
    assert not outer.blocked


def test_faults_fixture_fails_swallowed_httpx2_and_urllib_calls_at_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def hardening_providers():
            return {"pay": "https://api.pay.example"}
        """
    )
    pytester.makepyfile(
        test_app="""
        import contextlib
        import urllib.request

        import httpx2

        def test_httpx2(faults):
            with contextlib.suppress(Exception):
                httpx2.get("https://tracker.example.net/beacon")

        def test_urllib(faults):
            with contextlib.suppress(Exception):
                urllib.request.urlopen("https://metrics.example.org/push", timeout=2)

        def test_registered_only(faults):
            assert httpx2.get("https://api.pay.example/charges").status_code == 200
        """
    )
    result = pytester.runpytest(
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:randomly",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_httpx2*", "*GET https://tracker.example.net/beacon"]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_urllib*",
            "*metrics.example.org:443 (name lookup), from urllib",
        ]
    )


def test_any_hardening_fixture_guards_the_network_and_the_marker_opts_out(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import urllib.request
        import pytest

        def _swallowed():
            try:
                urllib.request.urlopen("http://203.0.113.7:8080/", timeout=1)
            except Exception:
                pass

        def test_clock_only(clock):
            _swallowed()

        @pytest.mark.hardening_allow_network
        def test_opted_out(clock, monkeypatch):
            import socket
            def refused(*args, **kwargs):
                raise ConnectionRefusedError("not the guard")
            monkeypatch.setattr(socket, "create_connection", refused)
            _swallowed()
        """
    )
    result = pytester.runpytest(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-n",
        "0",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_clock_only*", "*203.0.113.7*8080*"])


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_a_loopback_proxy_named_by_the_environment_is_the_network(
    loopback_url: str, no_proxy_env: pytest.MonkeyPatch
) -> None:
    # Corporate networks and debugging proxies listen on loopback; urllib, requests, boto3 and
    # aiohttp send everything there, and the proxy forwards it off the machine.
    no_proxy_env.setenv("HTTP_PROXY", loopback_url)
    opener = urllib.request.build_opener()  # reads the proxy variables now (urlopen's is cached)
    with FaultInjector({}) as faults:
        with pytest.raises(urllib.error.URLError, match="forwards requests to the network"):
            opener.open("http://api.remote.example/v1", timeout=5)
        report = faults.problems_report()
    port = int(loopback_url.rsplit(":", 1)[1].strip("/"))
    assert report is not None
    assert f"127.0.0.1:{port}, the proxy HTTP_PROXY names" in report
    assert "unset the proxy variable" in report


@pytest.mark.parametrize("variable", ["https_proxy", "ALL_PROXY"])
@pytest.mark.parametrize("named", ["localhost", "127.0.0.1"])
def test_any_proxy_variable_and_a_name_or_an_address(
    no_proxy_env: pytest.MonkeyPatch, variable: str, named: str
) -> None:
    no_proxy_env.setenv(variable, f"http://{named}:3128")
    with (
        NetworkGuard() as guard,
        socket.socket() as sock,
        pytest.raises(NetworkBlockedError, match=f"the proxy {variable.upper()} names"),
    ):
        sock.connect(("127.0.0.1", 3128))
    assert guard.blocked == [("127.0.0.1", 3128, variable.upper())]


def test_loopback_servers_on_other_ports_stay_reachable_beside_a_proxy(
    loopback_url: str, no_proxy_env: pytest.MonkeyPatch
) -> None:
    no_proxy_env.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    no_proxy_env.setenv("HTTP_PROXY", "socks5://[::1]")  # port 1080, another loopback address
    no_proxy_env.setenv("ALL_PROXY", "http://[::1:3128")  # malformed: no client can use it
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1,localhost")  # how a test reaches its own server
    # Its own opener: urlopen's would be built (and cached for the process) with these variables.
    opener = urllib.request.build_opener()
    with NetworkGuard() as guard, socket.socket() as sock:
        with opener.open(loopback_url, timeout=5) as response:
            assert response.read() == b"hello"
        sock.settimeout(2)
        sock.connect_ex(("127.0.0.1", 1080))  # not [::1]: left to the OS, whatever it answers
    assert guard.blocked == []


def test_a_datagram_to_another_machine_is_refused() -> None:
    # A tracing daemon's segments (X-Ray's UDP) need no connect: sendto names the address.
    with (
        NetworkGuard() as guard,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        with pytest.raises(NetworkBlockedError):
            udp.sendto(b"segment", (OFF_HOST, 2000))
        with pytest.raises(NetworkBlockedError):
            udp.sendmsg([b"segment"], [], 0, (OFF_HOST, 2000))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as local:
            local.bind(("127.0.0.1", 0))
            assert udp.sendto(b"ok", local.getsockname()) == 2  # loopback stays allowed
    assert [b.host for b in guard.blocked] == [OFF_HOST, OFF_HOST]


def _packages(
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    installed: dict[str, str],
    app: dict[str, str] | None = None,
) -> None:
    """Packages written as ``{name: source of its __init__}``: ``installed`` ones under a
    ``site-packages`` folder, the ``app``'s own beside it, each folder put on ``sys.path``."""
    for folder, packages in (("site-packages", installed), ("app", app or {})):
        for name, source in packages.items():
            (tmp_path / folder / name).mkdir(parents=True)
            (tmp_path / folder / name / "__init__.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path / folder))


def _refusals(call: Any) -> str:
    """The guard's report of what ``call`` tried (its errors swallowed, as an app's are)."""
    with NetworkGuard() as guard:
        _swallow(call)
    report = guard.report()
    assert report is not None
    return report


def test_a_library_connecting_by_itself_is_named_beside_its_client(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An installed library's own traffic (a metrics agent probing for its endpoint from a
    # thread of its own) is turned off in tests, not mocked: the report names the library
    # beside the client it used.
    agent = (
        "import threading\nimport urllib.request\n\n\ndef probe():\n"
        "    try:\n"
        f"        urllib.request.urlopen('http://{OFF_HOST}:8083/', timeout=2)\n"
        "    except OSError:\n        pass\n\n\n"
        "def start():\n"
        "    thread = threading.Thread(target=probe)\n    thread.start()\n    return thread\n"
    )
    _packages(tmp_path, monkeypatch, {"metricsagent": agent})
    import metricsagent  # type: ignore[import-not-found]

    with NetworkGuard() as guard:
        metricsagent.start().join()
    report = guard.report()
    assert report is not None
    assert f"{OFF_HOST}:8083, from urllib (called by metricsagent)" in report
    assert "metricsagent connected by itself: turn it off in the tests' environment" in report


def test_a_library_the_app_called_is_named_with_the_apps_module(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app asked an installed library for something it downloads on first use (a tokenizer
    # fetching its tables): no setting turns that off; the call is stood in for, or the
    # library given what it fetches.
    tokenizer = (
        "import urllib.request\n\n\ndef get_encoding(name):\n"
        f"    return urllib.request.urlopen('http://{OFF_HOST}:8084/' + name, timeout=2)\n"
    )
    app = (
        "import tokenizerlib\n\n\ndef count(text):\n    return tokenizerlib.get_encoding('base')\n"
    )
    _packages(tmp_path, monkeypatch, {"tokenizerlib": tokenizer}, {"tokenapp": app})
    import tokenapp  # type: ignore[import-not-found]

    report = _refusals(lambda: tokenapp.count("hi"))
    assert f"{OFF_HOST}:8084, from urllib (called by tokenizerlib, from tokenapp)" in report
    assert "connected by itself" not in report
    assert "tokenizerlib connected when tokenapp called it: stand in for that call" in report
    assert "mock urllib" not in report  # the app never called urllib: nothing of it to mock


def test_a_librarys_generated_functions_are_the_library_not_the_app(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLAlchemy's ORM Session reaches its engine through functions its decorators compile
    # with exec, on globals that name the module but hold no __file__: the report said
    # "from sqlalchemy.orm.session" where the app's module called it (a trial's).
    orm = (
        "import urllib.request\n\n"
        "def _connect():\n"
        f"    return urllib.request.urlopen('http://{OFF_HOST}:8086/', timeout=2)\n\n"
        "_generated = {'__name__': __name__, '_connect': _connect}\n"
        "exec('def execute(query):\\n    return _connect()\\n', _generated)\n"
        "execute = _generated['execute']\n"
    )
    app = "import ormlib\n\n\ndef count():\n    return ormlib.execute('select 1')\n"
    _packages(tmp_path, monkeypatch, {"ormlib": orm}, {"ormapp": app})
    import ormapp  # type: ignore[import-not-found]

    report = _refusals(ormapp.count)
    assert f"{OFF_HOST}:8086, from urllib (called by ormlib, from ormapp)" in report


def test_a_redis_connection_names_the_library_and_the_module_that_asked(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task queue's pool (arq's create_pool) opening redis for the app: the report said
    # "from redis", where the app's fakeredis goes unsaid (a trial's).
    pytest.importorskip("redis")
    queue = (
        "import redis\nfrom redis.backoff import NoBackoff\nfrom redis.retry import Retry\n\n\n"
        "def create_pool(host):\n"
        "    once = Retry(NoBackoff(), 0)  # the refusal is the whole story: no retries\n"
        "    return redis.Redis(host=host, port=6379, retry=once).ping()\n"
    )
    app = f"import queuelib\n\n\ndef enqueue():\n    return queuelib.create_pool('{OFF_HOST}')\n"
    _packages(tmp_path, monkeypatch, {"queuelib": queue}, {"redisapp": app})
    import redisapp  # type: ignore[import-not-found]

    report = _refusals(redisapp.enqueue)
    assert f"{OFF_HOST}:6379, from redis (called by queuelib, from redisapp)" in report


def test_a_mocking_library_passing_a_call_through_is_not_named_as_its_caller(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # responses or requests-mock answering one host and passing the rest through sit between
    # the client and the SDK that called it: a trial's report said "called by responses".
    mock = "def passed_through(send, *args):\n    return send(*args)\n"
    pay = (
        "import urllib.request\n\nimport requests_mock\n\n\ndef charge():\n"
        f"    url = 'http://{OFF_HOST}:8085/charges'\n"
        "    return requests_mock.passed_through(urllib.request.urlopen, url, None, 2)\n"
    )
    app = "import paylib\n\n\ndef pay():\n    return paylib.charge()\n"
    _packages(tmp_path, monkeypatch, {"requests_mock": mock, "paylib": pay}, {"shopapp_pay": app})
    import shopapp_pay  # type: ignore[import-not-found]

    report = _refusals(shopapp_pay.pay)
    assert f"{OFF_HOST}:8085, from urllib (called by paylib, from shopapp_pay)" in report
    assert "requests_mock" not in report


def test_a_provider_reached_through_boto3_is_mocked_with_its_own_tools() -> None:
    from pytest_hardening._network_clients import around_advice, client_advice

    # boto3 cannot send through httpx: the advice names what mocks it.
    assert "moto (`mock_aws`) or botocore's `Stubber`" in around_advice(["botocore"])
    assert "send them through httpx" not in around_advice(["botocore"])
    assert "(responses or requests-mock)" in client_advice([("requests", 443)])
    # A cache or a database driver gets its own stand-in named too.
    assert "fakeredis" in client_advice([("redis", 6379)])
    assert "a database of the test's own on 127.0.0.1" in client_advice([("asyncpg", 5432)])


def test_an_aws_endpoint_and_an_otel_exporter_get_advice_of_their_own() -> None:
    from pytest_hardening._network_clients import client_advice

    # A trial's: aiobotocore reaches SNS through aiohttp, which the advice said to mock with
    # aioresponses (no use there); an OTLP exporter's gRPC channel was told of emulators.
    sns = client_advice([("aiohttp", 443)], ["sns.us-east-1.amazonaws.com"])
    assert "a moto server on 127.0.0.1 (`ThreadedMotoServer`) that AWS_ENDPOINT_URL names" in sns
    assert "aioresponses" not in sns
    otel = client_advice([("grpc (called by opentelemetry, from app.telemetry)", 4317)], ["c"])
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in otel
    assert "FIRESTORE_EMULATOR_HOST" not in otel
    both = client_advice([("requests", 443), ("grpc", 4317)], ["api.example.com", "collector"])
    assert "(responses or requests-mock)" in both  # the other client keeps its own advice
    assert "OpenTelemetry" in both


def test_the_older_resolver_functions_are_refused_too() -> None:
    # A trial's app checked each URL's address itself (`socket.gethostbyname(host)`, an SSRF
    # guard) before httpx connected: that lookup went to the real resolver, unseen.
    originals = [getattr(socket, n) for n in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")]
    with NetworkGuard() as guard:
        for lookup in (socket.gethostbyname, socket.gethostbyname_ex):
            with pytest.raises(NetworkBlockedError, match="name lookup"):
                lookup("recipes.example.com")
        with pytest.raises(NetworkBlockedError):
            socket.gethostbyaddr("93.184.216.34")  # a reverse lookup asks the resolver too
        assert socket.gethostbyname("127.0.0.1") == "127.0.0.1"  # an address is no lookup
        assert socket.gethostbyname("localhost").startswith("127.")
    assert [b.host for b in guard.blocked] == ["recipes.example.com"] * 2 + ["93.184.216.34"]
    assert [getattr(socket, n) for n in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")] == (
        originals
    )
