"""The environment variables the app reads, and their parsing into typed values.

Parsing problems are reported as :class:`Problem` objects naming the variable, never its value.
Empty values count as unset (``FOO=`` in an env file means "not configured").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from ._breakers import SERVICE_BREAKERS
from ._budget import (
    MAX_BREAKER_OPEN_SECONDS,
    MAX_PROVIDER_TIMEOUT_SECONDS,
    MAX_SHUTDOWN_GRACE_SECONDS,
)
from ._database import normalise_database_url
from ._errors import Problem
from ._merchants import parse_google_accounts, parse_merchant_keys
from ._urls import is_hostname, origin_of, parse_http_url

AppEnv = Literal["development", "production"]

#: The breakers BREAKER_OPEN_TIMEOUTS may name: all of the app's (``SERVICE_BREAKERS``).
BREAKER_NAMES: tuple[str, ...] = tuple(sorted(SERVICE_BREAKERS))
#: The provider clients PROVIDER_TIMEOUTS may name.
PROVIDER_NAMES: tuple[str, ...] = ("exotel", "openai", "wasabi", "shopify", "google")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class _Invalid(ValueError):
    """A parse failure; the message describes the rule, never the value."""


def _text(value: str) -> str:
    return value


def _secret(value: str) -> SecretStr:
    return SecretStr(value)


def _origin(value: str) -> str:
    origin = origin_of(value)
    if origin is None:
        raise _Invalid("must be an origin like https://app.example.com (scheme and host, no path)")
    return origin


def _url(value: str) -> str:
    parts = parse_http_url(value)
    if parts is None:
        raise _Invalid("must be an absolute http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _Invalid("must not embed credentials (user:password@); use the key variables")
    return value


def _base_url(value: str) -> str:
    # Stored without a trailing slash so that f"{base}/path" never doubles it.
    return _url(value).rstrip("/")


def _dsn(value: str) -> SecretStr:
    # Imported here: importing the config must not pull in the SDK (``import reference_app``
    # stays light).
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(value)
    except (BadDsn, ValueError):
        # BadDsn's own message quotes parts of the DSN: don't pass it on.
        raise _Invalid("is not a valid Sentry DSN (https://<key>@<host>/<project>)") from None
    return SecretStr(value)


def _database_url(value: str) -> SecretStr:
    try:
        normalise_database_url(value)  # the same rule the db layer builds its engine with
    except ValueError as exc:
        # Its messages never contain the URL (it may hold a password); drop the variable name.
        raise _Invalid(str(exc).removeprefix("DATABASE_URL ")) from None
    return SecretStr(value)


def _domain(value: str) -> str:
    if not is_hostname(value):
        raise _Invalid("must be a bare hostname like app.up.railway.app (no scheme, port or path)")
    return value.lower()


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _Invalid("must be true or false")


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _Invalid("must be a number") from None
    if not math.isfinite(number):
        raise _Invalid("must be a finite number")
    return number


def _rate(value: str) -> float:
    rate = _number(value)
    if not 0.0 <= rate <= 1.0:
        raise _Invalid("must be between 0 and 1")
    return rate


def _seconds(value: str, maximum: float = MAX_SHUTDOWN_GRACE_SECONDS) -> float:
    seconds = _number(value)
    if not 0 < seconds <= maximum:
        raise _Invalid(f"must be a positive number of seconds, at most {maximum:g}")
    return seconds


def _retries(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise _Invalid("must be a whole number of retries") from None
    if not 0 <= count <= 10:
        raise _Invalid("must be between 0 and 10")
    return count


def _seconds_by_name(
    kind: str, names: tuple[str, ...], maximum: float
) -> Callable[[str], dict[str, float]]:
    """A parser for ``exotel=2,openai=2.5`` lists: ``kind`` names from ``names``, each with
    positive seconds up to ``maximum`` (an unbounded timeout is no timeout)."""

    def parse(value: str) -> dict[str, float]:
        timeouts: dict[str, float] = {}
        for item in value.split(","):
            name, sep, seconds = item.partition("=")
            name = name.strip().lower()
            if not sep or name not in names:
                raise _Invalid(
                    f"must look like exotel=2,openai=2 with {kind} names from " + ", ".join(names)
                )
            timeouts[name] = _seconds(seconds.strip(), maximum)
        return timeouts

    return parse


def _parsed(parse: Callable[[str], object]) -> Callable[[str], object]:
    def wrapped(value: str) -> object:
        try:
            return parse(value)
        except ValueError as exc:  # their messages never contain the value
            raise _Invalid(str(exc)) from None

    return wrapped


def _rate_limit(value: str) -> int:
    # ASCII digits only: str.isdigit() also accepts "¹" and "٣", which int() refuses
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 100_000:
        raise _Invalid("must be a whole number of calls per minute between 1 and 100000")
    return int(value)


def _app_env(value: str) -> AppEnv:
    lowered = value.lower()
    if lowered == "development":
        return "development"
    if lowered == "production":
        return "production"
    raise _Invalid("must be development or production")


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: its Settings field, parser and whether it is a secret or a URL."""

    name: str
    setting: str
    parse: Callable[[str], object] = field(repr=False)
    secret: bool = False
    url: bool = False


def _var(
    name: str, parse: Callable[[str], object], *, secret: bool = False, url: bool = False
) -> Variable:
    return Variable(name, name.lower(), parse, secret, url)


#: Every variable the app reads (NODE_ENV is read as an alias of APP_ENV, see the package docs).
VARIABLES: tuple[Variable, ...] = (
    _var("APP_ENV", _app_env),
    _var("FRONTEND_URL", _origin, url=True),
    _var("FRONTEND_URL_ALT", _origin, url=True),
    _var("GOOGLE_CLIENT_ID", _text),
    _var("GOOGLE_CLIENT_SECRET", _secret, secret=True),
    _var("GOOGLE_CALLBACK_URL", _url, url=True),
    _var("EXOTEL_WEBHOOK_BASE_URL", _base_url, url=True),
    _var("RAILWAY_PUBLIC_DOMAIN", _domain),
    _var("EXOTEL_BASE_URL", _base_url, url=True),
    _var("EXOTEL_ACCOUNT_SID", _text),
    _var("EXOTEL_API_KEY", _secret, secret=True),
    _var("EXOTEL_API_TOKEN", _secret, secret=True),
    _var("EXOTEL_CALLER_ID", _text),
    _var("OPENAI_BASE_URL", _base_url, url=True),
    _var("OPENAI_API_KEY", _secret, secret=True),
    _var("OPENAI_MAX_RETRIES", _retries),
    _var("WASABI_ENDPOINT", _base_url, url=True),
    _var("WASABI_REGION", _text),
    _var("WASABI_BUCKET", _text),
    _var("WASABI_ACCESS_KEY", _secret, secret=True),
    _var("WASABI_SECRET_KEY", _secret, secret=True),
    _var("SHOPIFY_ACCESS_TOKEN", _secret, secret=True),
    _var("SHOPIFY_WEBHOOK_SECRET", _secret, secret=True),
    _var("SENTRY_DSN", _dsn, secret=True, url=True),
    _var("ENABLE_SENTRY", _bool),
    _var("SENTRY_TRACES_SAMPLE_RATE", _rate),
    _var("MONITORING_ADMIN_TOKEN", _secret, secret=True),
    _var("DATABASE_URL", _database_url, secret=True),
    _var(
        "BREAKER_OPEN_TIMEOUTS",
        _seconds_by_name("breaker", BREAKER_NAMES, MAX_BREAKER_OPEN_SECONDS),
    ),
    _var(
        "PROVIDER_TIMEOUTS",
        _seconds_by_name("provider", PROVIDER_NAMES, MAX_PROVIDER_TIMEOUT_SECONDS),
    ),
    _var("SHUTDOWN_GRACE_SECONDS", _seconds),
    _var("MERCHANT_API_KEYS", _parsed(parse_merchant_keys)),
    _var("MERCHANT_GOOGLE_ACCOUNTS", _parsed(parse_google_accounts)),
    _var("MERCHANT_RATE_LIMIT", _rate_limit),
)

VARIABLE_NAMES: frozenset[str] = frozenset(v.name for v in VARIABLES)
SECRET_VARIABLES: frozenset[str] = frozenset(v.name for v in VARIABLES if v.secret)
URL_VARIABLES: frozenset[str] = frozenset(v.name for v in VARIABLES if v.url)


def normalise(env: Mapping[str, str]) -> dict[str, str]:
    """The app's variables from ``env``, stripped, with empty values dropped.

    NODE_ENV is folded into APP_ENV when APP_ENV is unset (APP_ENV wins when both are set).
    """
    known = {name: env[name].strip() for name in VARIABLE_NAMES if name in env}
    if env_source(env) == "NODE_ENV":
        known["APP_ENV"] = env["NODE_ENV"].strip()
    return {name: value for name, value in known.items() if value}


def env_source(env: Mapping[str, str]) -> str:
    """Which variable set the mode: APP_ENV, or NODE_ENV when only the alias was given."""
    return (
        "APP_ENV"
        if env.get("APP_ENV", "").strip() or not env.get("NODE_ENV", "").strip()
        else "NODE_ENV"
    )


def parse_environment(env: Mapping[str, str]) -> tuple[dict[str, object], list[Problem]]:
    """Parse every known variable in ``env``: Settings field values plus the problems found."""
    values: dict[str, object] = {}
    problems: list[Problem] = []
    normal = normalise(env)
    for variable in VARIABLES:
        raw = normal.get(variable.name)
        if raw is None:
            continue
        try:
            values[variable.setting] = variable.parse(raw)
        except _Invalid as exc:
            name = env_source(env) if variable.name == "APP_ENV" else variable.name
            problems.append(Problem(name, str(exc)))
    return values, problems
