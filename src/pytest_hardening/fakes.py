"""Healthy fakes of the OpenAI and Anthropic APIs: provider handlers returning schema-valid
bodies (plain JSON or server-sent events when the request asks to ``stream``), so the official
SDKs parse them as they would the real API. Use them as ``Provider`` handlers::

    providers = {"openai": openai_provider("Hello!"), "anthropic": anthropic_provider()}

No SDK is imported here; the bodies follow the public API reference.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
from collections.abc import Iterable
from typing import Any

import httpx

from ._providers import Handler, Provider

__all__ = [
    "anthropic_handler",
    "anthropic_provider",
    "embedding",
    "openai_handler",
    "openai_provider",
    "sse",
]

OPENAI_URL = "https://api.openai.com"
ANTHROPIC_URL = "https://api.anthropic.com"
#: The length of the fake's embeddings when the request names none (text-embedding-3-small's).
EMBEDDING_DIMENSIONS = 1536


def sse(events: Iterable[tuple[str | None, Any]]) -> bytes:
    """Server-sent events: ``(event name or None, data)`` pairs; dict data becomes JSON."""
    out = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        out.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(out).encode()


def _words(reply: str) -> list[str]:
    """The reply in stream-sized pieces (one word with its leading space each)."""
    words = reply.split(" ")
    return [words[0]] + [f" {w}" for w in words[1:]] if reply else []


def _stream(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body)


def _body(request: httpx.Request) -> dict[str, Any]:
    try:
        value = json.loads(request.content or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _not_found(request: httpx.Request) -> httpx.Response:
    error = {"message": f"fake: no route {request.method} {request.url.path}", "type": "not_found"}
    return httpx.Response(404, json={"error": error})


# -- OpenAI ----------------------------------------------------------------------------------
def _chat(reply: str, model: str, stream: bool) -> httpx.Response:
    base = {"id": "chatcmpl-fake", "created": 0, "model": model}
    if not stream:
        message = {"role": "assistant", "content": reply, "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        usage = {"prompt_tokens": 1, "completion_tokens": len(_words(reply)), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        body = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        return httpx.Response(200, json=body)
    chunk = {**base, "object": "chat.completion.chunk"}

    def delta(content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**chunk, "choices": [{"index": 0, "delta": content, "finish_reason": finish}]}

    events: list[tuple[str | None, Any]] = [(None, delta({"role": "assistant", "content": ""}))]
    events += [(None, delta({"content": word})) for word in _words(reply)]
    events += [(None, delta({}, "stop")), (None, "[DONE]")]
    return _stream(sse(events))


def _response_object(reply: str, model: str, status: str) -> dict[str, Any]:
    text = {"type": "output_text", "text": reply, "annotations": []}
    message = {
        "type": "message",
        "id": "msg_fake",
        "role": "assistant",
        "status": "completed",
        "content": [text],
    }
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 0,
        "model": model,
        "status": status,
        "output": [message] if status == "completed" else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def _responses(reply: str, model: str, stream: bool) -> httpx.Response:
    if not stream:
        return httpx.Response(200, json=_response_object(reply, model, "completed"))
    events: list[tuple[str | None, Any]] = []

    def add(kind: str, **data: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": len(events), **data}))

    # The whole sequence the API sends: the SDK's responses.stream() helper builds its
    # snapshot from the item and part events, and fails on deltas without them.
    done = _response_object(reply, model, "completed")
    message, text = done["output"][0], done["output"][0]["content"][0]
    where = {"item_id": message["id"], "output_index": 0, "content_index": 0}
    add("response.created", response=_response_object(reply, model, "in_progress"))
    add("response.in_progress", response=_response_object(reply, model, "in_progress"))
    started = {**message, "status": "in_progress", "content": []}
    add("response.output_item.added", output_index=0, item=started)
    add("response.content_part.added", **where, part={**text, "text": ""})
    for word in _words(reply):
        add("response.output_text.delta", **where, delta=word, logprobs=[])
    add("response.output_text.done", **where, text=reply, logprobs=[])
    add("response.content_part.done", **where, part=text)
    add("response.output_item.done", output_index=0, item=message)
    add("response.completed", response=done)
    return _stream(sse(events))


def embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """The fake's embedding of ``text``: the same text always gets the same unit vector (so a
    retrieval test can rank by it), another text another one. Not a model's: similar texts
    are no nearer than any two."""
    seed = hashlib.sha256(text.encode()).digest()
    draw = random.Random(seed)
    vector = [draw.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _embeddings(body: dict[str, Any], model: str) -> httpx.Response:
    given = body.get("input", "")
    # A string, a list of strings, a list of token ids (one input) or a list of such lists.
    if isinstance(given, str) or (isinstance(given, list) and given and isinstance(given[0], int)):
        given = [given]
    inputs = [item if isinstance(item, str) else json.dumps(item) for item in given or [""]]
    dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
    data = []
    for index, text in enumerate(inputs):
        vector = embedding(text, dimensions)
        if body.get("encoding_format") == "base64":  # what the SDK asks for by default
            packed = struct.pack(f"<{dimensions}f", *vector)
            encoded: Any = base64.b64encode(packed).decode()
        else:
            encoded = vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(text.split()) or 1 for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return httpx.Response(
        200, json={"object": "list", "data": data, "model": model, "usage": usage}
    )


def openai_handler(
    reply: str = "Hello from the fake model.", *, model: str = "gpt-4o-mini"
) -> Handler:
    """Serve ``POST /v1/chat/completions`` and ``POST /v1/responses`` (streamed when the
    request says ``"stream": true``) with ``reply`` as the assistant's text, and
    ``POST /v1/embeddings`` with :func:`embedding` of each input (floats or base64, as asked;
    ``dimensions`` honoured, else 1536)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = _body(request)
        stream = bool(body.get("stream"))
        used = str(body.get("model") or model)
        if request.method == "POST" and request.url.path.endswith("/chat/completions"):
            return _chat(reply, used, stream)
        if request.method == "POST" and request.url.path.endswith("/responses"):
            return _responses(reply, used, stream)
        if request.method == "POST" and request.url.path.endswith("/embeddings"):
            return _embeddings(body, str(body.get("model") or "text-embedding-3-small"))
        return _not_found(request)

    return handler


def openai_provider(
    reply: str = "Hello from the fake model.", *, url: str = OPENAI_URL
) -> Provider:
    """The OpenAI API (or an OpenAI-compatible one at ``url``) answering with ``reply``;
    injected errors have OpenAI's error body."""
    return Provider(url, healthy=openai_handler(reply), errors="openai")


# -- Anthropic -------------------------------------------------------------------------------
def _message(reply: str, model: str, content: list[Any], stop: str | None) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": len(_words(reply))},
    }


def _messages(reply: str, model: str, stream: bool) -> httpx.Response:
    if not stream:
        text = [{"type": "text", "text": reply}]
        return httpx.Response(200, json=_message(reply, model, text, "end_turn"))
    events: list[tuple[str | None, Any]] = []

    def add(kind: str, **data: Any) -> None:
        events.append((kind, {"type": kind, **data}))

    add("message_start", message=_message(reply, model, [], None))
    add("content_block_start", index=0, content_block={"type": "text", "text": ""})
    for word in _words(reply):
        add("content_block_delta", index=0, delta={"type": "text_delta", "text": word})
    add("content_block_stop", index=0)
    add(
        "message_delta",
        delta={"stop_reason": "end_turn", "stop_sequence": None},
        usage={"output_tokens": len(_words(reply))},
    )
    add("message_stop")
    return _stream(sse(events))


def anthropic_handler(
    reply: str = "Hello from the fake model.", *, model: str = "claude-sonnet-4-5"
) -> Handler:
    """Serve ``POST /v1/messages`` (streamed when the request says ``"stream": true``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = _body(request)
        if request.method == "POST" and request.url.path.endswith("/messages"):
            return _messages(reply, str(body.get("model") or model), bool(body.get("stream")))
        return _not_found(request)

    return handler


def anthropic_provider(
    reply: str = "Hello from the fake model.", *, url: str = ANTHROPIC_URL
) -> Provider:
    """The Anthropic API at ``url`` answering with ``reply``; injected errors have
    Anthropic's error body."""
    return Provider(url, healthy=anthropic_handler(reply), errors="anthropic")
