"""Google OAuth 2.0: exchange an authorization code at the token endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlencode

import httpx

from ._base import ProviderClient, ProviderError

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["AUTHORIZATION_URL", "TOKEN_URL", "GoogleError", "GoogleOAuthClient", "GoogleTokens"]

AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
SCOPES = "openid email profile"


class GoogleError(ProviderError):
    provider = "google"


@dataclass(frozen=True, slots=True)
class GoogleTokens:
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    id_token: str | None

    def __repr__(self) -> str:  # tokens never end up in logs or error reports
        return f"GoogleTokens(token_type={self.token_type!r}, expires_in={self.expires_in})"


def _parse_tokens(response: httpx.Response) -> GoogleTokens:
    data = response.json()
    return GoogleTokens(
        access_token=str(data["access_token"]),
        token_type=str(data.get("token_type", "Bearer")),
        expires_in=int(data.get("expires_in", 0)),
        scope=str(data.get("scope", "")),
        id_token=data.get("id_token"),
    )


class GoogleOAuthClient(ProviderClient):
    """Authorization-code flow against ``https://oauth2.googleapis.com/token``."""

    name = "google"
    error_type: ClassVar[type[ProviderError]] = GoogleError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        token_url: str = TOKEN_URL,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        super().__init__(http, breaker, apm, timeout=timeout or httpx.Timeout(10.0, connect=5.0))
        self._client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._token_url = token_url

    @property
    def configured(self) -> bool:
        return bool(self._client_id and self._client_secret)

    def authorization_url(self, state: str) -> str:
        query = {
            "client_id": self._client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
            "access_type": "online",
            "prompt": "select_account",
        }
        return f"{AUTHORIZATION_URL}?{urlencode(query)}"

    async def exchange_code(self, code: str) -> GoogleTokens:
        form = {
            "code": code,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "redirect_uri": self.redirect_uri,
            "grant_type": "authorization_code",
        }
        request = self._http.build_request("POST", self._token_url, data=form)
        return await self._send("exchange_code", request, _parse_tokens)
