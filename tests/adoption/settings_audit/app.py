"""A FastAPI app configured by pydantic-settings, strict in production."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from fastapi import FastAPI
from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings

#: Variables production may leave out (the hardening audit reads this).
PRODUCTION_OPTIONAL = ("SENTRY_DSN",)


class ConfigError(RuntimeError):
    pass


def _public_https(name: str, url: str, *, needs_user: bool = False) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or (needs_user and not parts.username):
        return f"{name}: must be an https URL" + (" with a key" if needs_user else "")
    if host in ("localhost", "127.0.0.1") or host.endswith(("example.com", "yourdomain.com")):
        return f"{name}: must point at a real public host"
    return None


class Settings(BaseSettings):
    app_env: Literal["development", "production"] = "development"
    secret_key: str = "dev-secret"
    public_url: str = "http://localhost:8000"
    database_url: str = "sqlite:///./dev.db"
    sentry_dsn: str | None = None

    @model_validator(mode="after")
    def production_rules(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = []
        if self.secret_key == "dev-secret" or len(self.secret_key) < 32:
            problems.append("SECRET_KEY: must be a random value of 32+ characters")
        if problem := _public_https("PUBLIC_URL", self.public_url):
            problems.append(problem)
        database = urlsplit(self.database_url)
        if database.scheme != "postgresql" or database.hostname in (None, "localhost", "127.0.0.1"):
            problems.append("DATABASE_URL: must be a PostgreSQL server off this machine")
        if self.sentry_dsn and (
            problem := _public_https("SENTRY_DSN", self.sentry_dsn, needs_user=True)
        ):
            problems.append(problem)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        # pydantic's message echoes the input (secrets included): keep only the rule text.
        raise ConfigError("; ".join(e["msg"] for e in error.errors())) from None


def create_app() -> FastAPI:
    settings = load_settings()
    app = FastAPI(docs_url=None if settings.app_env == "production" else "/docs")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"env": settings.app_env}

    return app
