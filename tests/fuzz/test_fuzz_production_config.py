"""Production configuration fuzzing: hypothesis mutates the known-good ``.env.production.example``
(drops, empties, unsafe and malformed URLs, garbage and unicode values, fresh secrets) and checks
that ``load_settings`` — the gate ``create_app`` goes through —

* never raises anything but :class:`~reference_app.ConfigurationError`,
* never puts a secret's value in its message,
* and never accepts an unsafe production environment: whenever it accepts, an independent oracle
  written here (not the app's own rules) finds every URL https, no local or placeholder host, and
  every required variable present.
"""

from __future__ import annotations

import ipaddress
import socket
import string
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_hardening import EnvPatch, SentryGuard
from reference_app import ConfigurationError, Settings, create_app, load_settings
from reference_app.config import VARIABLE_NAMES
from reference_app.testing import strong_production_env

from ._profiles import fuzz_settings

ROOT = Path(__file__).resolve().parents[2]

# The oracle's own lists (deliberately not imported from reference_app.config).
ORACLE_URLS = (
    "FRONTEND_URL",
    "FRONTEND_URL_ALT",
    "GOOGLE_CALLBACK_URL",
    "EXOTEL_WEBHOOK_BASE_URL",
    "EXOTEL_BASE_URL",
    "OPENAI_BASE_URL",
    "WASABI_ENDPOINT",
    "SENTRY_DSN",
)
ORACLE_REQUIRED = ("FRONTEND_URL", "GOOGLE_CALLBACK_URL", "MONITORING_ADMIN_TOKEN")
ORACLE_SECRETS = (
    "GOOGLE_CLIENT_SECRET",
    "EXOTEL_API_KEY",
    "EXOTEL_API_TOKEN",
    "OPENAI_API_KEY",
    "WASABI_ACCESS_KEY",
    "WASABI_SECRET_KEY",
    "SHOPIFY_ACCESS_TOKEN",
    "SHOPIFY_WEBHOOK_SECRET",
    "MONITORING_ADMIN_TOKEN",
)


def example_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (ROOT / ".env.production.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


#: The example with its placeholders replaced by strong values (the example itself is refused).
BASE = strong_production_env()


# -- the oracle ------------------------------------------------------------------------------
def _oracle_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # what a resolver accepts: 127.1, 2130706433, 0x7f000001, 0177.0.0.1
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _oracle_mapped(host: str) -> str:
    """The host a client connects to: Python's own IDNA codec (nameprep maps ideographic full
    stops and full-width letters), independent of the app's UTS-46 library."""
    host = host.strip("[]")
    if host.isascii():
        return host.lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return host.lower().rstrip(".")


def oracle_internal(host: str) -> bool:
    host = _oracle_mapped(host)
    if host.endswith((".internal", ".svc.cluster.local", ".local")) or host == "metadata":
        return True
    address = _oracle_ip(host)
    if address is None or address.is_loopback or address.is_unspecified:
        return False
    shared = ipaddress.ip_network("100.64.0.0/10")
    return address.is_private or address.is_link_local or address in shared


def oracle_local(host: str) -> bool:
    host = _oracle_mapped(host)
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    address = _oracle_ip(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


def oracle_url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        return "malformed"
    if parts.scheme.lower() != "https":
        return "not https"
    if oracle_local(host):
        return "local host"
    if oracle_internal(host):
        return "internal host"
    if parts.port == 0:
        return "port 0"
    if host.rstrip(".").lower().endswith("yourdomain.com"):
        return "placeholder"
    return None


def _present(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def oracle_problems(env: Mapping[str, str], settings: Settings) -> list[str]:
    """Why a production app built from ``env`` would be unsafe (empty = safe)."""
    problems = [f"{n} missing" for n in ORACLE_REQUIRED if not _present(env, n)]
    if not (_present(env, "RAILWAY_PUBLIC_DOMAIN") or _present(env, "EXOTEL_WEBHOOK_BASE_URL")):
        problems.append("no public webhook base")
    sentry_off = env.get("ENABLE_SENTRY", "").strip().lower() in ("false", "0", "no", "off")
    if not sentry_off and not _present(env, "SENTRY_DSN"):
        problems.append("SENTRY_DSN missing")
    for name in ORACLE_URLS:
        if _present(env, name):
            problem = oracle_url_problem(env[name].strip())
            if problem:
                problems.append(f"{name}: {problem}")
    # What the app would actually run with.
    for origin in settings.cors_origins:
        if origin == "*" or oracle_url_problem(origin):
            problems.append("CORS origin unsafe")
    for name, url in (
        ("webhook base", settings.webhook_base_url),
        ("google callback", settings.google_callback_url),
    ):
        if oracle_url_problem(url):
            problems.append(f"effective {name} unsafe")
    return problems


def wants_production(env: Mapping[str, str]) -> bool:
    app_env = env.get("APP_ENV", "").strip()
    mode = app_env or env.get("NODE_ENV", "").strip()
    return mode.lower() == "production"


# -- strategies ------------------------------------------------------------------------------
_HOSTS = st.sampled_from(
    [
        "api.example.com",
        "app.example.com",
        "localhost",
        "LOCALHOST",
        "localhost.",
        "sub.localhost",
        "127.0.0.1",
        "127.0.0.2",
        "0.0.0.0",  # noqa: S104 (a value under test, nothing binds)
        "[::1]",
        "[::]",
        # Other spellings of loopback that resolvers and browsers honour.
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "0",
        "yourdomain.com",
        "api.yourdomain.com",
        "exämple.com",
        "xn--exmple-cua.com",
        # Unicode spellings clients map onto loopback, and hosts only a private network has.
        "127\u30020\u30020\u30021",
        "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",
        "169.254.169.254",
        "10.0.0.8",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "[fd00::1]",
        "[fe80::1]",
        "db.internal",
        "api.default.svc.cluster.local",
    ]
)
_SCHEMES = st.sampled_from(["https", "http", "HTTPS", "Http", "ftp", "ws", ""])
_PORTS = st.sampled_from(["", ":443", ":8080", ":0", ":99999", ":abc"])
_PATHS = st.sampled_from(["", "/", "/api/auth/google/callback", "/v1", "/x?y=1", "/#frag"])
urls = st.builds(lambda s, h, p, path: f"{s}://{h}{p}{path}", _SCHEMES, _HOSTS, _PORTS, _PATHS)
malformed = st.sampled_from(
    [
        "https://",
        "https:///path",
        "not a url",
        "https://exa mple.com",
        "//example.com",
        "example.com",
        "https//example.com",
        "https://:443",
        "http:/localhost",
        "*",
        "https://user:pw@app.example.com",
    ]
)
_UNICODE = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
garbage = st.one_of(
    st.text(_UNICODE, max_size=30),
    st.text(string.printable, max_size=30),
    st.sampled_from(["None", "null", "true", "0", "-1", "nan", "inf", "1e999", "☃", "\u202e"]),
)
# A marker that no message, variable name or URL contains, and a length floor: a secret can
# never coincide with fixed text (Hypothesis also draws string constants from the code under
# test, so "letters and digits mixed" alone is no guarantee).
SECRET_MARKER = "Qx9Z"
secret_values = st.text(string.ascii_letters + string.digits, min_size=12, max_size=36).map(
    lambda body: SECRET_MARKER + body
)
domains = st.one_of(
    st.sampled_from(
        [
            "api-example.up.railway.app",
            "localhost",
            "127.0.0.1",
            "127.1",
            "2130706433",
            "yourdomain.com",
            "0.0.0.0",  # noqa: S104
        ]
    ),
    garbage,
)
booleans = st.sampled_from(["true", "false", "0", "1", "no", "off", "On", "maybe", ""])
names = st.sampled_from(sorted({*BASE, "RAILWAY_PUBLIC_DOMAIN", "ENABLE_SENTRY", "NODE_ENV"}))


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str | None]:
    """(variable, new value) — ``None`` drops the variable."""
    name = draw(names)
    kind = draw(st.sampled_from(["drop", "empty", "blank", "url", "malformed", "garbage"]))
    if kind == "drop":
        return name, None
    if kind == "empty":
        return name, ""
    if kind == "blank":
        return name, draw(st.sampled_from([" ", "\t", "  \n"]))
    if name == "RAILWAY_PUBLIC_DOMAIN":
        return name, draw(domains)
    if name == "ENABLE_SENTRY":
        return name, draw(booleans)
    if name in ("APP_ENV", "NODE_ENV"):
        return name, draw(st.sampled_from(["production", "PRODUCTION", " production ", "prod", ""]))
    return name, draw({"url": urls, "malformed": malformed, "garbage": garbage}[kind])


@st.composite
def environments(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """A mutated production env, and the secrets in it (name -> value)."""
    env = dict(BASE)
    for name, value in draw(st.lists(mutation(), max_size=6)):
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    secrets: dict[str, str] = {}
    for name in ORACLE_SECRETS:
        if name in env and env[name].strip():
            env[name] = secrets[name] = draw(secret_values)
    if env.get("SENTRY_DSN", "").strip():
        key = draw(secret_values)
        secrets["SENTRY_DSN key"] = key
        env["SENTRY_DSN"] = draw(
            st.sampled_from(
                [
                    f"https://{key}@o1.ingest.example.com/1",
                    f"http://{key}@sentry.example.com/1",
                    f"https://{key}@localhost/1",
                    f"{key}",
                ]
            )
        )
    if draw(st.booleans()):
        password = draw(secret_values)
        secrets["DATABASE_URL password"] = password
        env["DATABASE_URL"] = f"postgresql+asyncpg://app:{password}@db.example.com:5432/calls"
    return env, secrets


def _assert_no_secret(text: str, secrets: Mapping[str, str]) -> None:
    shown = [name for name, value in secrets.items() if value in text]
    assert not shown, f"the configuration error shows the value of {shown}:\n{text}"


# -- properties --------------------------------------------------------------------------------
def test_the_example_env_is_accepted_and_the_oracle_agrees() -> None:
    settings = load_settings(BASE)
    assert settings.is_production
    assert oracle_problems(BASE, settings) == []


@fuzz_settings()
@given(case=environments())
@example(case=({**BASE, "FRONTEND_URL": "https://127.1"}, {}))
@example(case=({**BASE, "EXOTEL_WEBHOOK_BASE_URL": "https://[::ffff:127.0.0.1]"}, {}))
@example(case=({**BASE, "GOOGLE_CALLBACK_URL": "https://2130706433/cb"}, {}))
@example(case=({**BASE, "OPENAI_BASE_URL": "https://0x7f000001/v1"}, {}))
@example(case=({**BASE, "EXOTEL_WEBHOOK_BASE_URL": "https://127\u30020\u30020\u30021"}, {}))
@example(case=({**BASE, "OPENAI_BASE_URL": "https://169.254.169.254/v1"}, {}))
def test_production_validation_never_accepts_unsafe_and_never_leaks(
    case: tuple[dict[str, str], dict[str, str]],
) -> None:
    env, secrets = case
    error: ConfigurationError | None = None
    try:
        settings = load_settings(env)
    except ConfigurationError as exc:
        error = exc
    if error is not None:
        problems = "\n".join(f"{p.variable} {p.message}" for p in error.problems)
        _assert_no_secret(f"{error}\n{problems}", secrets)
        assert error.problems, "a ConfigurationError must list at least one problem"
        assert all(p.variable for p in error.problems)
        # The factory path (settings read from os.environ) refuses the same environment, and
        # reports it to Sentry: the guard keeps that report in memory, to be checked too.
        with (
            SentryGuard() as guard,
            EnvPatch(env, clear=VARIABLE_NAMES | {"NODE_ENV"}),
            pytest.raises(ConfigurationError) as info,
        ):
            create_app()
        _assert_no_secret(str(info.value), secrets)
        if guard.capture.envelopes:
            _assert_no_secret(repr(guard.capture.events), secrets)
        return
    # Accepted: if production was asked for, it must be production, and safe by the oracle.
    if wants_production(env):
        assert settings.is_production, "APP_ENV/NODE_ENV=production booted a development app"
        unsafe = oracle_problems(env, settings)
        assert unsafe == [], f"production accepted an unsafe environment: {unsafe}"
