from __future__ import annotations

import pytest

from reference_app.config import ConfigurationError, load_settings, validate_environment
from reference_app.testing import strong_production_env

from ._envs import EXAMPLE_ENV_FILE, production_env, read_env_file


def test_known_good_production_env_loads() -> None:
    settings = load_settings(production_env())
    assert settings.is_production
    assert settings.cors_origins == ["https://app.example.com", "https://admin.example.com"]


def test_example_env_file_is_refused_until_its_placeholders_are_replaced() -> None:
    env = read_env_file(EXAMPLE_ENV_FILE)
    assert env["APP_ENV"] == "production"
    refused = {p.variable for p in validate_environment(env)}
    assert {"OPENAI_API_KEY", "MONITORING_ADMIN_TOKEN", "DATABASE_URL"} <= refused
    # Every other line is fine: with strong values the same file is a valid configuration.
    assert load_settings(strong_production_env(EXAMPLE_ENV_FILE)).is_production


def test_empty_production_env_is_refused_with_every_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"APP_ENV": "production"})
    assert {"FRONTEND_URL", "GOOGLE_CALLBACK_URL", "SENTRY_DSN"} <= set(info.value.variables)
