"""Which configuration values are secrets: one rule for every place that must not print them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = [
    "example_placeholder",
    "is_public_default",
    "is_secret_name",
    "leaks",
    "mask",
    "name_words",
    "refusal_lines",
    "secret_values",
    "unpersonal",
    "url_password",
]

#: Secrets published as defaults in templates and docs, for deployments to change: an app that
#: refuses one may name it ('SECRET_KEY is "changethis"'): that prints nothing secret.
_PUBLIC_DEFAULTS = frozenset(
    {
        "changethis",
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "replaceme",
        "replace-me",
        "replace_me",
        "secret",
        "password",
        "admin",
        "default",
        "your-secret-key",
        "your_secret_key",
        "supersecret",
    }
)

#: How a printed value is cut off (pydantic's and Python's reprs, Sentry's serializer).
_CUT = ("...", "\u2026")
#: The shortest cut-off part of a secret that still counts as printing it.
_FRAGMENT = 8

# DATABASE_URL and other URLs are handled by value (their credential), not by name.
_SECRET_NAME = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|PASS\b|_KEY|^KEY|APIKEY|DSN|CREDENTIAL|PRIVATE|SIGNING|SALT",
    re.IGNORECASE,
)


#: A name's last word that makes it name something about a secret, not the secret itself: its
#: lifetime or rotation (``ACCESS_TOKEN_EXPIRE_MINUTES``, ``SECRET_ROTATION_DAYS``), where it is
#: fetched or sent (``TOKEN_URL``, ``API_KEY_HEADER``), which one (``SIGNING_KEY_ID``), how it
#: is made or read (``JWT_SECRET_ALGORITHM``, ``PASSWORD_MIN_LENGTH``, ``SECRET_KEY_FILE``).
_ABOUT_A_SECRET = frozenset(
    {
        *("DAYS", "HOURS", "MINUTES", "MINS", "SECONDS", "SECS", "MS", "TTL", "LIFETIME", "AGE"),
        *("EXPIRE", "EXPIRES", "EXPIRY", "EXPIRATION", "TIMEOUT", "INTERVAL", "ROTATION"),
        *("URL", "URI", "ENDPOINT", "HOST", "PORT", "HEADER", "PARAM", "FIELD", "ISSUER"),
        *("AUDIENCE", "ID", "KID", "NAME", "TYPE", "PREFIX", "VERSION", "ALGORITHM", "ALG"),
        *("LENGTH", "LEN", "SIZE", "COUNT", "LIMIT", "ROUNDS", "PATH", "FILE", "DIR"),
        *("ENABLED", "REQUIRED"),
    }
)
#: Keys meant to be seen (``STRIPE_PUBLISHABLE_KEY``, ``VAPID_PUBLIC_KEY``).
_PUBLIC_WORDS = frozenset({"PUBLIC", "PUBLISHABLE"})


def is_secret_name(name: str) -> bool:
    """Names whose values must never appear in an error message or a report: named like a
    secret, and not for something about one (its lifetime, its URL, its id) or a public key."""
    if not _SECRET_NAME.search(name):
        return False
    words = name_words(name)
    return not (words and words[-1] in _ABOUT_A_SECRET) and not _PUBLIC_WORDS.intersection(words)


def name_words(name: str) -> list[str]:
    """A variable's name in upper-case words: ``SIGNING_KEY_ID`` → ``SIGNING``, ``KEY``, ``ID``."""
    return [word for word in re.split(r"[^A-Z0-9]+", name.upper()) if word]


def secret_values(env: Mapping[str, str], *, min_length: int = 4) -> list[tuple[str, str]]:
    """``(name, value)`` of every secret in ``env``: values of secret-named variables and the
    credentials inside URLs (a password; a user alone, as a Sentry DSN's key or a token in
    ``https://TOKEN@host``). Values shorter than ``min_length`` are too common to mask."""
    found: list[tuple[str, str]] = []
    for name, value in env.items():
        # A switch named like a secret (REDACT_API_KEYS=false) holds no secret: masking its
        # value would mask every "false" in the output.
        switch = value.strip().lower() in _SWITCH_VALUES
        credential = _url_credential(value)
        # A DSN says where to connect: its secret is the credentials in it, and one without
        # any (file:///var/queue, redis://cache:6379) holds none.
        bare_dsn = name_words(name)[-1:] == ["DSN"] and "://" in value and not credential
        if is_secret_name(name) and len(value) >= min_length and not switch and not bare_dsn:
            found.append((name, value))
        if credential and len(credential) >= min_length:
            found.append((name, credential))
    return found


#: Values that switch something on or off: never a secret, whatever the variable's name.
_SWITCH_VALUES = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled"}
)

#: ``user:password@host`` in a URL, also a malformed one (``postgresql//u:p@h``, a missing
#: colon): the app's refusal quotes it, and the password must not show.
_USERINFO = re.compile(r"(?:^|[/\s])[^/:@\s]+:([^@/\s]+)@")


def _url_credential(value: str) -> str | None:
    """The password of a URL's ``user:password@``; of a bare ``user@`` that looks like a key,
    the user: with no password, it is the credential (a Sentry DSN's key, an access token)."""
    password = url_password(value)
    if password:
        return password
    if "://" in value:
        try:
            parts = urlsplit(value)
            user = None if ":" in parts.netloc.rpartition("@")[0] else parts.username
        except ValueError:  # a malformed URL (bad port ...): its userinfo is read below
            user = None
        if user and _looks_like_key(user):
            return user
    found = _USERINFO.search(value)
    return found.group(1) if found else None


def url_password(value: str) -> str | None:
    """The password a URL's ``user:password@`` carries (``postgresql://app:pw@db/app``)."""
    if "://" not in value:
        return None
    try:
        return urlsplit(value).password or None
    except ValueError:  # a malformed URL: its userinfo is still read
        found = _USERINFO.search(value)
        return found.group(1) if found else None


def _looks_like_key(user: str) -> bool:
    """16 characters or more (a DSN key has 32, a GitHub token 40), or 8 or more mixing letters
    and digits. Not an account name (``postgres@``, ``git@``, ``public@``): masked, such a word
    would be cut out of every other word it is part of (``postgresql``)."""
    mixed = any(c.isdigit() for c in user) and any(c.isalpha() for c in user)
    return len(user) >= 16 or (len(user) >= 8 and mixed)


#: The ``.env.example`` form: ``your_openai_api_key_here``, ``your-api-key``, the audit's own
#: ``your_signing_salt_here``.
_EXAMPLE_FORM = re.compile(r"^your[-_][a-z0-9_-]+$")


def is_public_default(value: str) -> bool:
    """Whether ``value`` is a placeholder secret published for deployments to change."""
    folded = value.strip().lower()
    return folded in _PUBLIC_DEFAULTS or bool(_EXAMPLE_FORM.match(folded))


def example_placeholder(name: str) -> str:
    """The placeholder an ``.env.example`` gives the secret ``name``: ``your_api_key_here``."""
    return f"your_{name.lower()}_here"


def _fragments(value: str) -> list[tuple[str, str]]:
    """``(printed, masked-form)`` of each way a repr may cut ``value`` off: a prefix of
    :data:`_FRAGMENT` characters or more before ``...``, or a suffix after it, longest first.
    A URL's scheme does not count (``https://...`` names no secret), nor, in a URL with
    credentials, what follows them: a suffix counts only with :data:`_FRAGMENT` characters of
    the credentials in it (a Sentry DSN's ``...o1.ingest.sentry.io/42``, a database URL's host
    and name, are no secret)."""
    _, sep, core = value.partition("://")
    if not sep:
        core = value
    public = len(core) - core.rindex("@") if sep and "@" in core.split("/", 1)[0] else 0
    found = []
    for size in range(len(core) - 1, _FRAGMENT - 1, -1):
        for cut in _CUT:
            found.append((core[:size] + cut, "{label}" + cut))
            if size - public >= _FRAGMENT:
                found.append((cut + core[-size:], cut + "{label}"))
    return found


def leaks(text: str, value: str) -> bool:
    """Whether ``text`` prints ``value``, whole or cut off by a repr (``'Zq8v3LmT1...``). A
    short value counts only standing apart from the letters and digits around it: a password
    that is a word of the app's own names (``lycosa`` in a metric ``lycosa_http_requests``) is
    not printed by an error that names the metric."""
    if len(value) < _WORDLIKE and value in text:
        apart = rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])"
        return re.search(apart, text) is not None or _cut_off(text, value)
    return value in text or _cut_off(text, value)


#: Values shorter than this may be words of the app's own names (random secrets are longer).
_WORDLIKE = 16


def _cut_off(text: str, value: str) -> bool:
    return any(printed in text for printed, _ in _fragments(value))


def mask(text: str, secrets: Iterable[tuple[str, str]], *, label: str = "***") -> str:
    """``text`` with every secret value replaced (longest first, so no fragment survives),
    a value cut off by a repr too; ``label`` may use ``{name}``."""
    for name, value in sorted(secrets, key=lambda item: len(item[1]), reverse=True):
        shown = label.format(name=name)
        text = text.replace(value, shown)
        for printed, masked in _fragments(value):
            if printed in text:
                text = text.replace(printed, masked.format(label=shown))
    return text


#: What free text from an app (an error's message, a URL it called) may carry that a report
#: kept as a CI artifact must not: addresses, long numbers (phones, cards, ids), and opaque
#: tokens (keys, bot tokens in a URL's path: letters and digits, 20 characters or more).
_PERSONAL = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"(?<![\w])\+?\d[\d -]{5,}\d(?![\w])"), "<number>"),
    (re.compile(r"(?=[\w:-]*\d)(?=[\w:-]*[A-Za-z])[\w:-]{20,}"), "<token>"),
)


def unpersonal(text: str) -> str:
    """``text`` (an app's free text, for a report) with e-mail addresses, long numbers and
    opaque tokens masked; a URL's query string (where tokens travel) dropped."""
    text = re.sub(r"(https?://[^\s?#]*)\?[^\s#]*", r"\1?<query>", text)
    for pattern, label in _PERSONAL:
        text = pattern.sub(label, text)
    return text


def refusal_lines(error: Exception) -> list[str]:
    """What a refused build said, one line per problem. A validation error of pydantic (and
    pydantic-settings) gives its field and message for each error, without the input it
    echoes (values, secrets among them) or its documentation links."""
    details = getattr(error, "errors", None)
    if callable(details) and type(error).__name__ == "ValidationError":
        try:
            errors = details(include_url=False, include_input=False, include_context=False)
        except TypeError:
            errors = details()
        lines = []
        for item in errors if isinstance(errors, list) else []:
            where = ".".join(str(part) for part in item.get("loc", ()))
            message = " ".join(str(item.get("msg", "")).split())
            lines.append(f"{where}: {message}" if where else message)
        if lines:
            return lines
    text = " ".join(str(error).split()) or type(error).__name__
    return [f"{type(error).__name__}: {text}"]
