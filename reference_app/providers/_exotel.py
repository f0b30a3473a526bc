"""Exotel telephony: place outbound calls (connect.json) and fetch call recordings."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

import httpx

from ._base import ProviderClient, ProviderError

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = [
    "RECORDING_HOSTS",
    "ExotelCall",
    "ExotelClient",
    "ExotelError",
    "is_recording_storage",
]


class ExotelError(ProviderError):
    provider = "exotel"


@dataclass(frozen=True, slots=True)
class ExotelCall:
    sid: str
    status: str


def _parse_call(response: httpx.Response) -> ExotelCall:
    call = response.json()["Call"]
    return ExotelCall(sid=str(call["Sid"]), status=str(call["Status"]))


#: Exotel's recording storage (``RecordingUrl`` in callbacks and call details):
#: ``https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/<account>/<sid>.mp3``, in the
#: path-style and virtual-hosted S3 spellings. Host → the path prefix its objects live under.
RECORDING_HOSTS: Mapping[str, str] = MappingProxyType(
    {
        "s3-ap-southeast-1.amazonaws.com": "/exotelrecordings/",
        "s3.ap-southeast-1.amazonaws.com": "/exotelrecordings/",
        "exotelrecordings.s3.amazonaws.com": "/",
        "exotelrecordings.s3.ap-southeast-1.amazonaws.com": "/",
        "exotelrecordings.s3-ap-southeast-1.amazonaws.com": "/",
    }
)


def is_recording_storage(url: httpx.URL) -> bool:
    """An https URL on Exotel's recording storage (default port, under its bucket)."""
    prefix = RECORDING_HOSTS.get(url.host)
    return (
        url.scheme == "https"
        and url.port in (None, 443)
        and prefix is not None
        and url.path.startswith(prefix)
        and ".." not in url.path
    )


class ExotelClient(ProviderClient):
    """``POST {base}/v1/Accounts/{sid}/Calls/connect.json`` with HTTP basic auth (key/token)."""

    name = "exotel"
    error_type: ClassVar[type[ProviderError]] = ExotelError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        base_url: str,
        account_sid: str,
        api_key: str,
        api_token: str,
        caller_id: str,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        super().__init__(http, breaker, apm, timeout=timeout or httpx.Timeout(10.0, connect=5.0))
        self._base_url = base_url.rstrip("/")
        self._account_sid = account_sid
        credentials = base64.b64encode(f"{api_key}:{api_token}".encode()).decode()
        self._auth_header = {"Authorization": f"Basic {credentials}"}
        self._caller_id = caller_id

    @property
    def host(self) -> str:
        return httpx.URL(self._base_url).host

    async def connect_call(self, *, customer_phone: str, status_callback: str) -> ExotelCall:
        """Ring ``customer_phone`` from the ExoPhone (``EXOTEL_CALLER_ID``) running the AI flow."""
        url = f"{self._base_url}/v1/Accounts/{self._account_sid}/Calls/connect.json"
        form = {
            "From": customer_phone,
            "To": self._caller_id,
            "CallerId": self._caller_id,
            "StatusCallback": status_callback,
            "StatusCallbackContentType": "application/json",
            "Record": "true",
        }
        request = self._http.build_request("POST", url, data=form)
        request.headers.update(self._auth_header)
        return await self._send("connect_call", request, _parse_call)

    async def download_recording(self, url: str) -> bytes:
        """Fetch a recording, only from an allowed host (never an arbitrary URL): the
        configured Exotel API host (with the account's credentials), or Exotel's documented S3
        recording storage over https (:data:`RECORDING_HOSTS`; its URLs are signed, so no
        credentials are sent there)."""
        base = httpx.URL(self._base_url)
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):  # ValueError: e.g. a lone surrogate
            raise ExotelError("recording URL is malformed", status_code=400) from None
        on_api = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
        if not on_api and not is_recording_storage(target):
            raise ExotelError("recording URL is not on an allowed Exotel host", status_code=400)
        request = self._http.build_request("GET", target)
        if on_api:
            request.headers.update(self._auth_header)
        return await self._send("download_recording", request, lambda r: r.content)
