"""Everything an app instance builds at startup and closes at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import httpx2
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_app._calls import CallService
from reference_app._status_callbacks import status_callback_key
from reference_app.config import Settings
from reference_app.db import CallRepository, create_engine
from reference_app.observability import ApmRegistry
from reference_app.providers import (
    ExotelClient,
    GoogleOAuthClient,
    HttpxTransportBridge,
    OpenAIClient,
    OrderCache,
    ShopifyClient,
    WasabiClient,
    no_retry_past_the_budget,
)
from reference_app.resilience import BreakerRegistry

__all__ = [
    "DEFAULT_RECORDINGS_BUCKET",
    "OPENAI_CONNECTION_LIMITS",
    "Providers",
    "Services",
    "build_services",
]

DEFAULT_RECORDINGS_BUCKET = "call-recordings"
#: A streamed script holds its connection for the whole answer: this bounds concurrent ones.
OPENAI_CONNECTION_LIMITS = httpx2.Limits(max_connections=50, max_keepalive_connections=10)


@dataclass(frozen=True, slots=True)
class Providers:
    exotel: ExotelClient
    openai: OpenAIClient
    wasabi: WasabiClient
    shopify: ShopifyClient
    google: GoogleOAuthClient


@dataclass(frozen=True, slots=True)
class Services:
    http: httpx.AsyncClient
    engine: AsyncEngine
    repository: CallRepository
    providers: Providers
    order_cache: OrderCache
    calls: CallService
    openai_http: httpx2.AsyncClient  # the OpenAI SDK's (httpx2): its own pool and limits

    async def aclose(self) -> None:
        try:
            try:
                await self.http.aclose()
            finally:
                await self.openai_http.aclose()
        finally:
            await self.engine.dispose()


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else ""


def _timeout(settings: Settings, provider: str) -> httpx.Timeout | None:
    """PROVIDER_TIMEOUTS' value for ``provider`` (None: the client keeps its own default).

    The connect phase keeps the clients' 5 s cap when the configured timeout is longer.
    """
    seconds = settings.provider_timeouts.get(provider)
    return None if seconds is None else httpx.Timeout(seconds, connect=min(seconds, 5.0))


def build_services(
    settings: Settings,
    breakers: BreakerRegistry,
    apm: ApmRegistry,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Services:
    """Build the clients and the database engine (no I/O happens here)."""
    # One TLS context for both clients (and any proxy they are given): loading the CA bundle
    # costs more than building a client. With a transport injected (tests) nothing needs one.
    tls = httpx.create_ssl_context() if http_transport is None else True
    # One connection pool for all providers; each request carries its provider's timeout.
    http = httpx.AsyncClient(
        transport=http_transport,
        verify=tls,
        timeout=httpx.Timeout(10.0, connect=5.0),
        headers={"User-Agent": "reference-app/0.1"},
    )
    # The OpenAI SDK sends through httpx2: a client of its own, through the same injected
    # transport when there is one (tests), else httpx2's pool with the app's limits.
    openai_http = httpx2.AsyncClient(
        transport=None if http_transport is None else HttpxTransportBridge(http_transport),
        verify=tls,
        limits=OPENAI_CONNECTION_LIMITS,
        event_hooks={"response": [no_retry_past_the_budget]},
    )
    engine = create_engine(_secret(settings.database_url) or None)
    repository = CallRepository(engine, breakers["database"], apm)
    cache = OrderCache()
    providers = Providers(
        exotel=ExotelClient(
            http,
            breakers["exotel"],
            apm,
            base_url=settings.exotel_base_url,
            account_sid=settings.exotel_account_sid or "",
            api_key=_secret(settings.exotel_api_key),
            api_token=_secret(settings.exotel_api_token),
            caller_id=settings.exotel_caller_id or "",
            timeout=_timeout(settings, "exotel"),
        ),
        openai=OpenAIClient(
            openai_http,
            breakers["openai"],
            apm,
            base_url=settings.openai_base_url,
            api_key=_secret(settings.openai_api_key),
            max_retries=settings.openai_max_retries,
            timeout=_timeout(settings, "openai"),
        ),
        wasabi=WasabiClient(
            http,
            breakers["wasabi"],
            apm,
            endpoint=settings.wasabi_endpoint,
            region=settings.wasabi_region,
            bucket=settings.wasabi_bucket or DEFAULT_RECORDINGS_BUCKET,
            access_key=_secret(settings.wasabi_access_key),
            secret_key=_secret(settings.wasabi_secret_key),
            timeout=_timeout(settings, "wasabi"),
        ),
        shopify=ShopifyClient(
            http,
            breakers["shopify"],
            apm,
            access_token=_secret(settings.shopify_access_token),
            cache=cache,
            timeout=_timeout(settings, "shopify"),
        ),
        google=GoogleOAuthClient(
            http,
            breakers["google"],
            apm,
            client_id=settings.google_client_id or "",
            client_secret=_secret(settings.google_client_secret),
            redirect_uri=settings.google_callback_url,
            timeout=_timeout(settings, "google"),
        ),
    )
    calls = CallService(
        repository,
        shopify=providers.shopify,
        openai=providers.openai,
        exotel=providers.exotel,
        wasabi=providers.wasabi,
        webhook_base_url=settings.webhook_base_url,
        callback_key=status_callback_key(_secret(settings.exotel_api_token)),
    )
    return Services(http, engine, repository, providers, cache, calls, openai_http)
