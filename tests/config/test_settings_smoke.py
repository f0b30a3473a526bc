from __future__ import annotations

import pytest

from reference_app.config import ConfigurationError, load_settings, validate_environment

from ._envs import EXAMPLE_ENV_FILE, production_env, read_env_file


def test_known_good_production_env_loads() -> None:
    settings = load_settings(production_env())
    assert settings.is_production
    assert settings.cors_origins == ["https://app.example.com", "https://admin.example.com"]


def test_example_env_file_is_a_valid_production_configuration() -> None:
    env = read_env_file(EXAMPLE_ENV_FILE)
    assert env["APP_ENV"] == "production"
    assert validate_environment(env) == []
    assert load_settings(env).is_production


def test_empty_production_env_is_refused_with_every_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"APP_ENV": "production"})
    assert {"FRONTEND_URL", "GOOGLE_CALLBACK_URL", "SENTRY_DSN"} <= set(info.value.variables)
