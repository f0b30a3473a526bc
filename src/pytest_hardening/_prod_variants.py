"""What the production audit tries: unsafe variants of a known-good env (reported: _prod_report)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._config import AppFactory
from ._dotenv_files import example_values
from ._network_hosts import is_local
from ._secret_maps import MAP_KEYS, secret_map, shown, with_entry
from ._secrets import (
    example_placeholder,
    is_public_default,
    is_secret_name,
    mask,
    name_words,
    secret_values,
    url_password,
)

__all__ = [
    "MODE_FLAGS",
    "MODE_VARIABLES",
    "Mutation",
    "debug_stayed_off",
    "declared_optional",
    "unsafe_variants",
    "weak_secrets",
]


#: Secrets' variants whose values the audit makes up (public, the same for every project):
#: shown, so that a report says which value was accepted. A project's own ``.env.example``
#: value is shown when it has a placeholder's form (``your-payments-api-key``, ``changeme``),
#: as ``check-config`` shows it; another is not: a real key committed there by mistake stays
#: out of CI logs.
_PUBLIC_KINDS = frozenset(
    {
        *("published default", "example placeholder", "short"),
        *("published default as given", "example placeholder as given", "short as given"),
        "empty as given",
        "published default password as given",
    }
)


@dataclass(frozen=True)
class Mutation:
    """One unsafe change to the known-good env (``value`` None: the variable is dropped)."""

    variable: str
    kind: str
    value: str | None

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.variable}: dropped"
        if self.kind in _PUBLIC_KINDS or is_public_default(self.value):
            return f"{self.variable}: {self.kind} -> {self.value!r}"
        if is_secret_name(self.variable):
            return f"{self.variable}: {self.kind} -> <redacted>"
        # A URL's password (DATABASE_URL ...) is a secret whatever the variable is called.
        shown = mask(repr(self.value), secret_values({self.variable: self.value}, min_length=1))
        return f"{self.variable}: {self.kind} -> {shown}"


def unsafe_variants(
    prod_env: Mapping[str, str],
    optional: Iterable[str] = (),
    origins: Iterable[str] = (),
    *,
    near: Path | None = None,
) -> list[Mutation]:
    """The unsafe changes :meth:`ProdConfigChecker.audit` tries on ``prod_env``, one at a time:
    each variable dropped (but those in ``optional``), weakened as settings of its kind are in
    the wild (a secret set to the project's own ``.env.example`` value too; any origin for a
    CORS setting, those named in ``origins`` included), and its URL made insecure, local, a
    placeholder or malformed. ``near``: the app's folder, whose example files count too."""
    skip = set(optional)
    examples = example_values(near)
    found: list[Mutation] = []
    for name, value in prod_env.items():
        if name not in skip:
            found.append(Mutation(name, "drop", None))
        found.extend(_weakened(name, value, origin=name in set(origins)))
        published = examples.get(name)
        if published and "://" not in value and is_secret_name(name):
            found.append(Mutation(name, "its .env.example value", published))
        if _dependency_host(name) and _is_hostname(value) and not is_local(value):
            # REDIS_HOST=cache.internal: the server a URL would name, written alone.
            found += [Mutation(name, host, host) for host in ("localhost", "127.0.0.1")]
        # A list of URLs (CORS origins, "https://a.example,https://b.example"): its first one
        # changed, the others kept, in the list's own form.
        first, rest = _first_url(value)
        parts = urlsplit(first) if "://" in first else None
        if parts is None or not parts.hostname:
            continue
        if parts.scheme == "https":
            insecure = urlunsplit(parts._replace(scheme="http"))
            found.append(Mutation(name, "http scheme", rest(insecure)))
        if not is_local(parts.hostname):  # a loopback one made loopback again changes nothing
            for host in ("localhost", "127.0.0.1"):
                found.append(Mutation(name, host, rest(_with_host(parts, host))))
        found.append(Mutation(name, "placeholder", rest("https://yourdomain.com")))
        found.append(Mutation(name, "malformed", rest("not a url")))
    # A change that leaves the value as it was is no change: the app could never refuse it.
    # The same value twice (an example file's placeholder that is a published default) is
    # tried once, under its first kind.
    unique = {(m.variable, m.value): m for m in reversed(found)}
    return [
        m
        for m in found
        if unique[(m.variable, m.value)] is m and m.value != prod_env.get(m.variable)
    ]


#: The variables apps name their mode with: dropping one makes another mode, not a weaker
#: production (the app's own rule decides which it reads; a default it restores is no finding).
MODE_VARIABLES = ("APP_ENV", "ENVIRONMENT", "APP_ENVIRONMENT", "ENV", "NODE_ENV", "STAGE")


#: Switches that say production (Azure's samples read ``RUNNING_IN_PRODUCTION``): dropped, the
#: app runs in its other mode, as with a mode variable.
MODE_FLAGS = ("RUNNING_IN_PRODUCTION", "IS_PRODUCTION", "PRODUCTION")


def declared_optional(
    factory: AppFactory, modules: Mapping[str, ModuleType] | None = None
) -> set[str]:
    """The variables an app declares optional in production: the mode variables and a
    ``PRODUCTION_OPTIONAL`` sequence of names in the factory's module, one of its parent
    packages, or a ``config`` module beside them (already imported: nothing is imported here),
    looked for in ``modules`` (a build's copy of the package, imported aside), else in
    ``sys.modules``."""
    found = {*MODE_VARIABLES, *MODE_FLAGS}
    module = getattr(factory, "__module__", None) or ""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        name = ".".join(parts[:depth])
        for candidate in (name, f"{name}.config"):
            held = (modules or {}).get(candidate) or sys.modules.get(candidate)
            declared = getattr(held, "PRODUCTION_OPTIONAL", None)
            if declared is not None:
                found.update(str(v) for v in declared)
    return found


#: Variables that switch debugging on, and that list the origins CORS lets in.
_DEBUG = re.compile(r"(^|_)DEBUG$", re.IGNORECASE)
_ORIGINS = re.compile(r"CORS|ORIGINS", re.IGNORECASE)
_REGEX = re.compile(r"REGEX|PATTERN", re.IGNORECASE)
#: Switches that turn a protection on (secure cookies, TLS verification, CSRF, HSTS).
_PROTECTION = re.compile(r"SECURE|HTTPS|SSL|TLS|VERIFY|CSRF|HSTS|HTTPONLY", re.IGNORECASE)
_ON = frozenset({"true", "1", "yes", "on"})


def debug_stayed_off(mutation: Mutation, app: Any) -> bool:
    """A debug variable dropped, and the app built out of debug mode all the same: its
    ``debug`` attribute (Starlette, FastAPI, Litestar, Quart, Flask) is False, so its default
    is off. An app without one tells nothing, and the drop stays a finding; so does ``DEBUG``
    switched on, which an app may read for more than its framework's flag."""
    dropped = mutation.value is None and bool(_DEBUG.search(mutation.variable))
    return dropped and getattr(app, "debug", None) is False


#: A dependency's host written alone (``REDIS_HOST``, ``DB_HOSTNAME``, ``SMTP_SERVER``): a name
#: ending in HOST, HOSTNAME or SERVER after a word naming a kind of server the app uses, not
#: the app's own bind address or public name (``HOST``, ``SERVER_HOST``, ``API_HOSTNAME``).
_HOST_WORDS = frozenset({"HOST", "HOSTNAME", "SERVER"})
_DEPENDENCY_WORDS = frozenset(
    {
        *("REDIS", "CACHE", "MEMCACHE", "MEMCACHED", "VALKEY", "DB", "DATABASE", "SQL"),
        *("POSTGRES", "POSTGRESQL", "PG", "MYSQL", "MARIADB", "MSSQL", "ORACLE", "MONGO"),
        *("MONGODB", "CLICKHOUSE", "CASSANDRA", "ELASTIC", "ELASTICSEARCH", "ES", "OPENSEARCH"),
        *("SMTP", "MAIL", "EMAIL", "IMAP", "AMQP", "RABBIT", "RABBITMQ", "KAFKA", "BROKER"),
        *("QUEUE", "NATS", "MQTT", "MINIO", "S3", "LDAP", "INFLUX", "INFLUXDB", "STATSD"),
        *("CONSUL", "VAULT", "ETCD", "ZOOKEEPER"),
    }
)


def _dependency_host(name: str) -> bool:
    words = name_words(name)
    return len(words) > 1 and words[-1] in _HOST_WORDS and bool(_DEPENDENCY_WORDS & set(words))


_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _is_hostname(value: str) -> bool:
    return bool(_HOSTNAME.match(value.strip())) and any(c.isalpha() or c == "." for c in value)


def weak_secrets(env: Mapping[str, str], *, near: Path | None = None) -> list[Mutation]:
    """The secrets ``env`` itself leaves weak, as the audit's variants would make them: a
    published default (``changethis``, or a URL's password: ``postgresql://app:password@db``),
    the ``.env.example`` placeholder, the value the project's own example file gives it (public:
    committed), one character. An app that boots with them accepted that variant already: the
    audit, which changes the known-good env, could never try it."""
    found = []
    examples = example_values(near)
    for name, value in env.items():
        if "://" in value:  # a URL's password (a database's): whatever the variable's name
            password = url_password(value)
            if password is not None and is_public_default(password):
                found.append(Mutation(name, "published default password as given", password))
            continue
        if not is_secret_name(name):
            continue
        entries = secret_map(value)
        if entries is not None:
            found += [
                Mutation(name, f"{kind} {shown(path)} as given", entry)
                for path, entry in entries.items()
                if (kind := _weakness(entry)) is not None
            ]
            continue
        kind = _weakness(value)
        if kind == "published default" and value.strip().lower() == example_placeholder(name):
            kind = "example placeholder"
        elif kind is None and value == examples.get(name):
            kind = "its .env.example value"
        if kind is None:
            continue
        found.append(Mutation(name, f"{kind} as given", value))
    return found


def _weakness(value: str) -> str | None:
    """How a secret given is weak: a published default, empty, one character (else None)."""
    if is_public_default(value):
        return "published default"
    if not value.strip():
        return "empty"
    return "short" if len(value.strip()) <= 1 else None


def _weakened(name: str, value: str, *, origin: bool = False) -> list[Mutation]:
    """The unsafe values a setting of this kind is given in the wild: a secret left at a
    published default, its ``.env.example`` placeholder or one character, debugging switched
    on, a protection switched off (``COOKIE_SECURE=false``), any origin allowed."""
    entries = secret_map(value) if is_secret_name(name) else None
    if entries is not None:  # each secret of the map weakened, the map kept valid JSON
        return [
            Mutation(name, f"{kind} {shown(path)}", with_entry(value, path, weak))
            for path in list(entries)[:MAP_KEYS]
            for kind, weak in (("published default 'changethis'", "changethis"), ("short", "x"))
        ]
    if "://" not in value and is_secret_name(name):
        return [
            Mutation(name, "published default", "changethis"),
            Mutation(name, "example placeholder", example_placeholder(name)),
            Mutation(name, "short", "x"),
        ]
    if _DEBUG.search(name):
        return [Mutation(name, "debug on", "true")]
    if _PROTECTION.search(name) and value.strip().lower() in _ON:
        return [Mutation(name, "protection off", "false")]
    if _ORIGINS.search(name) or origin:
        # In the form the setting is written in: a JSON list (pydantic-settings reads a list
        # so), else the bare wildcard. A "*" a list setting cannot parse would read as refused.
        anyone = '["*"]' if value.lstrip().startswith("[") else "*"
        if _REGEX.search(name):  # an origin regex: the wildcard is not one (it would not build)
            anyone = ".*"
        return [Mutation(name, "any origin", anyone)]
    return []


def _first_url(value: str) -> tuple[str, Callable[[str], str]]:
    """The first URL of ``value`` and a function putting a replacement in its place: a
    comma-separated list or a JSON list of several URLs keeps its other items; a single URL is
    itself."""
    match = re.search(r"[a-z][a-z0-9+.-]*://[^\s,\"'\]]+", value)
    if match is None or match.span() == (0, len(value)):  # no URL, or one: the whole value
        return value, lambda new: new
    start, end = match.span()
    return match.group(), lambda new: value[:start] + new + value[end:]


def _with_host(parts: Any, host: str) -> str:
    userinfo = parts.netloc.rpartition("@")[0]
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{userinfo}@{host}{port}" if userinfo else f"{host}{port}"
    return str(urlunsplit(parts._replace(netloc=netloc)))
