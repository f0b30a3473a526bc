"""DATABASE_URL: the URLs the app accepts, mapped onto their async drivers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULT_DATABASE_URL", "normalise_database_url"]

#: DATABASE_URL unset → a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./reference_app.db"

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+psycopg2": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }
)


def normalise_database_url(url: str | None) -> str:
    """Map ``postgres://``/``postgresql://``/``sqlite://`` onto their async drivers.

    Raises ``ValueError`` (without the URL: it may hold a password) for other schemes.
    """
    if not url:
        return DEFAULT_DATABASE_URL
    # Imported here: reading the configuration imports SQLAlchemy only when a URL is set.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("DATABASE_URL is not a valid database URL") from None
    driver = _ALIASES.get(parsed.drivername, parsed.drivername)
    if driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)
