"""Property: validation only ever answers with Problems / ConfigurationError, never boots an unsafe
production app, and never repeats a secret value."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_app.config import (
    SECRET_VARIABLES,
    URL_VARIABLES,
    VARIABLE_NAMES,
    ConfigurationError,
    load_settings,
    validate_environment,
)
from reference_app.config._urls import is_local_host, parse_http_url

from ._envs import production_env

SECRET_MARKER = "qx9z"

URLISH = st.one_of(
    st.sampled_from(
        [
            "https://app.example.com",
            "http://app.example.com",
            "https://localhost",
            "https://127.0.0.1:8000",
            "https://[::1]/x",
            "https://0.0.0.0",
            "https://yourdomain.com",
            "https://",
            "https://a@b.example.com/1",
            "https://a@b.example.com/x",
            "ftp://x",
            "https://x.example.com:0",
            "https://x.example.com:99999",
        ]
    ),
    st.builds(lambda s: "https://" + s, st.text(max_size=20)),
)
VALUES = st.one_of(
    st.text(max_size=40), URLISH, st.sampled_from(["", " ", "true", "false", "0", "1e400", "nan"])
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from(sorted(VARIABLE_NAMES | {"NODE_ENV"})),
        st.one_of(st.none(), VALUES),
        max_size=8,
    ),
    # A marker no message contains, then a length floor: the secret cannot coincide with fixed
    # text (Hypothesis also draws string constants from the code under test).
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=12, max_size=24).map(
        lambda body: SECRET_MARKER + body
    ),
)
def test_validation_is_total_safe_and_never_leaks(
    changes: dict[str, str | None], secret: str
) -> None:
    env = production_env()
    for name in SECRET_VARIABLES & env.keys():
        env[name] = f"{name.lower()}-{secret}"
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value

    problems = validate_environment(env)
    if problems:
        with pytest.raises(ConfigurationError) as info:
            load_settings(env)
        assert info.value.problems == problems
        assert secret not in str(info.value)
        assert secret not in repr(info.value.problems)
        return
    built = load_settings(env)
    if built.is_production:
        for name in URL_VARIABLES & env.keys():
            value = env[name].strip()
            if not value:
                continue
            parts = parse_http_url(value)
            assert parts is not None
            assert parts.scheme.lower() == "https", name
            assert not is_local_host(parts.hostname or ""), name
        assert all(origin.startswith("https://") for origin in built.cors_origins)
        assert built.webhook_base_url.startswith("https://")
