"""Realistic healthy fakes of the reference app's providers, as plain httpx handlers.

Each fake is a ``Callable[[httpx.Request], httpx.Response]`` answering with the payload shapes the
real API sends (Exotel's ``Call`` object, OpenAI's ``chat.completion``, S3's ``PUT`` with an
``ETag``, Shopify's GraphQL ``{"data": {"order": ...}}``, Google's token JSON). They are stateless
and free of pytest imports so the plugin, the chaos command and plain tests can share them.

``providers()`` maps each provider name to ``(url_pattern, handler)``: the provider declaration
that pytest-hardening's ``FaultInjector`` routes requests by and injects faults into::

    faults = FaultInjector(reference_app.fakes.providers())
    with faults:  # answers every outbound httpx request in the block
        faults.fail("exotel", 503)
        ...
    # or only one app's provider client, without patching httpx:
    app = create_app(settings, http_transport=httpx.MockTransport(faults.respond))

``database_outage(engine)`` makes every database statement fail until it exits, for
database-loss scenarios.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import httpx

from pytest_hardening.fakes import sse

from ._database_outage import database_outage

__all__ = [
    "PROVIDER_URLS",
    "Handler",
    "database_outage",
    "exotel",
    "google",
    "openai",
    "providers",
    "shopify",
    "wasabi",
]

Handler = Callable[[httpx.Request], httpx.Response]

#: Provider name -> base URL or host pattern (``pytest_hardening.Provider`` URL syntax).
PROVIDER_URLS: Mapping[str, str] = MappingProxyType(
    {
        "exotel": "https://api.exotel.com",
        "openai": "https://api.openai.com",
        "wasabi": "https://s3.wasabisys.com",
        "shopify": "https://*.myshopify.com",
        "google": "https://oauth2.googleapis.com",
    }
)

_CONNECT = re.compile(r"^/v1/Accounts/(?P<sid>[^/]+)/Calls/connect\.json$")
_RECORDING = re.compile(r"^/v1/Accounts/[^/]+/Recordings/[^/]+\.(mp3|wav)$")
_GRAPHQL = re.compile(r"^/admin/api/[0-9]{4}-[0-9]{2}/graphql\.json$")
#: A few bytes that look like the start of an MP3 file (ID3 tag header).
FAKE_RECORDING = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 118


def _json(status: int, payload: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def _basic_auth_ok(request: httpx.Request) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return False
    return bool(user and password)


def _exotel_error(status: int, message: str) -> httpx.Response:
    return _json(status, {"RestException": {"Status": status, "Message": message}})


def exotel(request: httpx.Request) -> httpx.Response:
    """Exotel: ``Calls/connect.json`` (a ``Call`` object) and recording downloads."""
    if not _basic_auth_ok(request):
        return _exotel_error(401, "Authentication is required to view this resource.")
    path = request.url.path
    if request.method == "GET" and _RECORDING.match(path):
        return httpx.Response(200, content=FAKE_RECORDING, headers={"content-type": "audio/mpeg"})
    match = _CONNECT.match(path)
    if request.method != "POST" or match is None:
        return _exotel_error(404, "The requested resource was not found")
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    missing = [f for f in ("From", "CallerId") if not form.get(f)]
    if missing:
        return _exotel_error(400, f"Missing parameter: {missing[0]}")
    sid = uuid.uuid4().hex
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    account = match.group("sid")
    call = {
        "Sid": sid,
        "ParentCallSid": None,
        "DateCreated": now,
        "DateUpdated": now,
        "AccountSid": account,
        "To": form.get("To"),
        "From": form["From"],
        "PhoneNumberSid": form["CallerId"],
        "Status": "in-progress",
        "StartTime": now,
        "EndTime": None,
        "Duration": None,
        "Price": None,
        "Direction": "outbound-api",
        "AnsweredBy": None,
        "ForwardedFrom": None,
        "CallerName": None,
        "Uri": f"/v1/Accounts/{account}/Calls/{sid}.json",
        "RecordingUrl": None,
    }
    return _json(200, {"Call": call})


#: Words of the streamed answer per ``chat.completion.chunk`` event: two content chunks for
#: the 31-word script, between the role chunk and the finish reason.
_WORDS_PER_CHUNK = 16


def _openai_stream(completion: dict[str, Any], content: str, usage: bool) -> httpx.Response:
    """The same completion as ``chat.completion.chunk`` server-sent events: the role, the text
    a few words per chunk, the finish reason, the usage (only if asked, in a chunk without
    choices, as the API does), then ``[DONE]``.

    The API sends a chunk per token; a few words each keeps the stream's shape (several content
    chunks, so stream faults can cut or stall it part-way) for a fraction of the SDK's per-chunk
    parsing, which every test that places a call pays."""
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    words = content.split(" ")
    pieces = [
        " ".join(words[i : i + _WORDS_PER_CHUNK]) for i in range(0, len(words), _WORDS_PER_CHUNK)
    ]
    events: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant", "content": ""}))]
    events += [(None, chunk({"content": p if i == 0 else f" {p}"})) for i, p in enumerate(pieces)]
    events.append((None, chunk({}, "stop")))
    if usage:
        events.append((None, {**base, "choices": [], "usage": completion["usage"]}))
    events.append((None, "[DONE]"))
    headers = {"content-type": "text/event-stream", "x-request-id": f"req_{uuid.uuid4().hex}"}
    return httpx.Response(200, content=sse(events), headers=headers)


def openai(request: httpx.Request) -> httpx.Response:
    """OpenAI: ``POST /v1/chat/completions`` answering a ``chat.completion`` object, or its
    chunks as server-sent events when the request says ``"stream": true`` (as the app asks)."""
    if not request.headers.get("authorization", "").startswith("Bearer "):
        error = {"message": "You didn't provide an API key.", "type": "invalid_request_error"}
        return _json(401, {"error": {**error, "param": None, "code": None}})
    if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
        return _json(404, {"error": {"message": "Unknown request URL", "type": "invalid_request"}})
    body = json.loads(request.content or b"{}")
    model = str(body.get("model", "gpt-4o-mini"))
    content = (
        "Namaste! I am calling from the store to confirm your cash-on-delivery order. "
        "Could you please confirm you will be available to receive it? Press 1 to confirm, "
        "or 2 to cancel."
    )
    completion = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 92, "completion_tokens": 41, "total_tokens": 133},
        "system_fingerprint": "fp_fake0000",
    }
    if body.get("stream"):
        options = body.get("stream_options") or {}
        return _openai_stream(completion, content, usage=bool(options.get("include_usage")))
    return _json(200, completion, **{"x-request-id": f"req_{uuid.uuid4().hex}"})


def _s3_error(status: int, code: str, message: str) -> httpx.Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return httpx.Response(status, text=xml, headers={"content-type": "application/xml"})


def wasabi(request: httpx.Request) -> httpx.Response:
    """Wasabi (S3 API): signed ``PUT`` answers 200 with the object's ``ETag``."""
    if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
        return _s3_error(403, "AccessDenied", "Access Denied")
    if request.method != "PUT":
        return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed")
    etag = '"' + hashlib.md5(request.content, usedforsecurity=False).hexdigest() + '"'
    return httpx.Response(200, headers={"ETag": etag, "x-amz-request-id": uuid.uuid4().hex})


def _fake_order(gid: str) -> dict[str, Any]:
    number = gid.rsplit("/", 1)[-1]
    return {
        "id": gid,
        "name": f"#{number[-4:] or '1001'}",
        "phone": "+919876543210",
        "displayFinancialStatus": "PENDING",
        "paymentGatewayNames": ["Cash on Delivery (COD)"],
        "totalPriceSet": {"shopMoney": {"amount": "1499.00", "currencyCode": "INR"}},
        "customer": {"firstName": "Asha"},
    }


def shopify(request: httpx.Request) -> httpx.Response:
    """Shopify Admin GraphQL: an ``order`` query answers ``{"data": {"order": {...}}}``."""
    if not request.headers.get("x-shopify-access-token"):
        message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
        return _json(401, {"errors": message})
    if request.method != "POST" or not _GRAPHQL.match(request.url.path):
        return _json(404, {"errors": "Not Found"})
    body = json.loads(request.content or b"{}")
    gid = str(body.get("variables", {}).get("id", ""))
    order = _fake_order(gid) if gid.startswith("gid://shopify/Order/") else None
    cost = {"requestedQueryCost": 4, "actualQueryCost": 4}
    return _json(200, {"data": {"order": order}, "extensions": {"cost": cost}})


#: The verified email of the fake Google account every code signs in as.
GOOGLE_EMAIL = "owner@acme.example"


def _id_token() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": "100000000000000000000", "email": GOOGLE_EMAIL, "email_verified": True}
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def google(request: httpx.Request) -> httpx.Response:
    """Google OAuth 2.0 token endpoint: authorization-code exchange."""
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    if request.method != "POST" or request.url.path != "/token":
        return _json(404, {"error": "not_found"})
    if form.get("grant_type") != "authorization_code" or not form.get("code"):
        return _json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
    if not form.get("client_id") or not form.get("client_secret"):
        return _json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
    token = {
        "access_token": f"ya29.fake-{uuid.uuid4().hex}",
        "expires_in": 3599,
        "scope": "openid https://www.googleapis.com/auth/userinfo.email",
        "token_type": "Bearer",
        "id_token": _id_token(),
    }
    return _json(200, token)


def providers() -> dict[str, tuple[str, Handler]]:
    """Provider name -> (base URL or host pattern, healthy handler)."""
    handlers: dict[str, Handler] = {
        "exotel": exotel,
        "openai": openai,
        "wasabi": wasabi,
        "shopify": shopify,
        "google": google,
    }
    return {name: (PROVIDER_URLS[name], handler) for name, handler in handlers.items()}
