"""Settings the way FastAPI's documentation teaches them: pydantic-settings behind a cached
getter, read once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    app_env: Literal["development", "production"] = "development"
    payments_url: str = "https://payments.example"
    payments_key: str = ""

    @model_validator(mode="after")
    def production_needs_a_key(self) -> Settings:
        live = self.payments_key.startswith("pk_live_") and len(self.payments_key) >= 16
        if self.app_env == "production" and not live:
            raise ValueError("PAYMENTS_KEY: production needs the live key")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
