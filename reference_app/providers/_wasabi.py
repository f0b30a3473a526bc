"""Wasabi (S3 API) recording storage: SigV4-signed PUT and presigned GET URLs."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import httpx
from aws_request_signer import AwsRequestSigner

from ._base import ProviderClient, ProviderError

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["WasabiClient", "WasabiError"]


class WasabiError(ProviderError):
    provider = "wasabi"


def _etag(response: httpx.Response) -> str:
    return str(response.headers.get("etag", "")).strip('"')


class WasabiClient(ProviderClient):
    """Path-style S3 requests to ``{endpoint}/{bucket}/{key}`` signed with AWS SigV4."""

    name = "wasabi"
    error_type: ClassVar[type[ProviderError]] = WasabiError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        endpoint: str,
        region: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        super().__init__(http, breaker, apm, timeout=timeout or httpx.Timeout(30.0, connect=5.0))
        self._endpoint = endpoint.rstrip("/")
        self._bucket = bucket
        self._signer = AwsRequestSigner(region, access_key, secret_key, "s3")

    def object_url(self, key: str) -> str:
        return f"{self._endpoint}/{self._bucket}/{quote(key, safe='/')}"

    async def put_object(self, key: str, content: bytes, content_type: str) -> str:
        """Store ``content`` under ``key``; returns the ETag."""
        url = self.object_url(key)
        headers = {"Content-Type": content_type}
        signed = self._signer.sign_with_headers(
            "PUT", url, headers, content_hash=hashlib.sha256(content).hexdigest()
        )
        request = self._http.build_request(
            "PUT", url, content=content, headers={**headers, **signed}
        )
        return await self._send("put_object", request, _etag)

    def presigned_get_url(self, key: str, *, expires: int = 3600) -> str:
        """A time-limited download URL; computed locally, no request is made."""
        return str(self._signer.presign_url("GET", self.object_url(key), expires=expires))
