"""Injected error answers carry the provider API's own error body, so the official SDKs fill
in the error's type, code and message as for a real outage, and an app that branches on them
(`e.code == "rate_limit_exceeded"`) can be driven; a body of the test's own goes through
`sequence` as an `httpx.Response`, or for every injected status through `Provider(errors=...)`.
Other providers get plain bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import openai
import pytest

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening.fakes import anthropic_provider, openai_provider

if TYPE_CHECKING:
    # Imported by the tests that use it: the SDK is the heaviest import of the suite (1.5 s
    # of CPU and 165,000 objects), which every worker collecting the module would pay.
    import anthropic

USER = [{"role": "user", "content": "Hi"}]
INJECTED = "(injected by pytest-hardening)"


@pytest.fixture
def injector(clock: Clock) -> Iterator[FaultInjector]:
    providers = {
        "openai": openai_provider(),
        "anthropic": anthropic_provider(),
        "local": openai_provider(url="http://localhost:8000/v1"),  # OpenAI-compatible
        "azure": "https://myres.openai.azure.com",  # a bare host: the shape follows it
        "pay": "https://api.pay.example",
    }
    with FaultInjector(providers, clock=clock) as faults:
        yield faults


def _gpt_error(base_url: str | None = None) -> openai.APIStatusError:
    gpt = openai.OpenAI(api_key="sk-test", max_retries=0, base_url=base_url)
    with pytest.raises(openai.APIStatusError) as raised:
        gpt.responses.create(model="gpt-4o-mini", input="hi")
    return raised.value


def _claude_error() -> anthropic.APIStatusError:
    import anthropic

    claude = anthropic.Anthropic(api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as raised:
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=USER)  # type: ignore[arg-type]
    return raised.value


@pytest.mark.parametrize(
    ("status", "error", "kind", "code", "message"),
    [
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded", "Rate limit reached"),
        (500, openai.InternalServerError, "server_error", None, "The server had an error"),
        (503, openai.InternalServerError, "server_error", None, "The server is overloaded"),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key", "Incorr"),
        (400, openai.BadRequestError, "invalid_request_error", None, "The request failed"),
    ],
)
def test_openai_sdk_reads_type_code_and_message_of_a_failure(
    injector: FaultInjector,
    status: int,
    error: type[openai.APIStatusError],
    kind: str,
    code: str | None,
    message: str,
) -> None:
    injector.fail("openai", status)
    e = _gpt_error()
    assert type(e) is error
    assert (e.type, e.code, e.param) == (kind, code, None)
    assert e.message.startswith(f"Error code: {status} - {message}")
    assert e.message.endswith(INJECTED)
    assert e.request_id == "req_injected_by_pytest_hardening"


def test_rate_limit_is_openais_rate_limit_exceeded(injector: FaultInjector) -> None:
    injector.rate_limit("openai", retry_after=1)
    e = _gpt_error()
    assert isinstance(e, openai.RateLimitError)
    assert (e.type, e.code) == ("requests", "rate_limit_exceeded")
    assert e.response.headers["retry-after"] == "1"


def test_openai_compatible_hosts_get_the_openai_shape(injector: FaultInjector) -> None:
    injector.fail("local", 503)
    assert _gpt_error("http://localhost:8000/v1").type == "server_error"
    with httpx.Client() as http:
        injector.rate_limit("azure")
        azure = http.post("https://myres.openai.azure.com/openai/deployments/d/chat/completions")
    assert azure.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, "RateLimitError", "rate_limit_error"),
        (500, "InternalServerError", "api_error"),
        (529, "OverloadedError", "overloaded_error"),
        (401, "AuthenticationError", "authentication_error"),
        (404, "NotFoundError", "not_found_error"),
    ],
)
def test_anthropic_sdk_reads_the_type_of_a_failure(
    injector: FaultInjector, status: int, error: str, kind: str
) -> None:
    import anthropic

    injector.fail("anthropic", status)
    e = _claude_error()
    assert type(e) is getattr(anthropic, error)
    assert e.type == kind
    assert e.api_message is not None
    assert e.api_message.endswith(INJECTED)
    error_body = {"type": kind, "message": e.api_message}
    assert e.body == {"type": "error", "error": error_body, "request_id": e.request_id}
    assert e.request_id == "req_injected_by_pytest_hardening"  # what apps log, as the API's


def test_sequence_and_random_answer_in_the_providers_shape(injector: FaultInjector) -> None:
    injector.sequence("anthropic", [429])
    assert _claude_error().type == "rate_limit_error"
    injector.random("openai", 1.0, status=502)
    assert _gpt_error().type == "server_error"


def test_sequence_takes_a_response_for_a_body_of_the_tests_own(
    injector: FaultInjector,
) -> None:
    quota = {
        "message": "You exceeded your current quota.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    injector.sequence("openai", [httpx.Response(429, json={"error": quota}), "ok"])
    e = _gpt_error()
    assert isinstance(e, openai.RateLimitError)
    assert e.code == "insufficient_quota"
    assert [c.outcome for c in injector.calls("openai")] == ["response 429"]


def test_other_providers_get_plain_bodies_that_say_they_were_injected(
    injector: FaultInjector,
) -> None:
    with httpx.Client() as http:
        injector.fail("pay", 503, times=1)
        unavailable = {"error": f"Service Unavailable {INJECTED}", "status": 503}
        assert http.get("https://api.pay.example/x").json() == unavailable
        injector.sequence("pay", [429, 529])
        too_many = {"error": f"Too Many Requests {INJECTED}", "status": 429}
        assert http.get("https://api.pay.example/x").json() == too_many
        assert http.get("https://api.pay.example/x").json() == {
            "error": f"HTTP 529 {INJECTED}",
            "status": 529,
        }
        injector.rate_limit("pay", retry_after=7, times=1)
        limited = http.get("https://api.pay.example/x")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
        assert limited.json() == too_many


def test_a_provider_gives_its_own_error_body_as_a_function_of_the_status() -> None:
    """An app written against its provider's documented error shape (here
    ``{"error": {"code", "message"}}``) reads injected errors as it reads real ones."""

    def translator_error(status: int) -> object:
        if status == 502:
            return "<html><body>Bad Gateway</body></html>"  # the proxy in front of it
        return {"error": {"code": status, "message": f"status {status} from the fake"}}

    providers = {"fun": Provider("https://api.fun.example", errors=translator_error)}
    with FaultInjector(providers) as faults, httpx.Client() as http:
        faults.rate_limit("fun", retry_after=3, times=1)
        limited = http.post("https://api.fun.example/translate")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        assert limited.json()["error"] == {"code": 429, "message": "status 429 from the fake"}
        faults.fail("fun", 503, times=1)
        assert http.post("https://api.fun.example/translate").json()["error"]["code"] == 503
        faults.random("fun", 1.0, status=500)
        assert http.post("https://api.fun.example/translate").json()["error"]["code"] == 500
        faults.sequence("fun", [502])
        page = http.post("https://api.fun.example/translate")
        assert (page.status_code, page.text) == (502, "<html><body>Bad Gateway</body></html>")


def test_a_provider_names_its_error_shape_or_is_told_what_is_known() -> None:
    assert Provider("https://llm.internal", errors="anthropic").errors == "anthropic"
    with pytest.raises(
        ValueError,
        match=r"errors='gemini'.*\('openai', 'anthropic', 'stripe', 'google'\).*, a function",
    ):
        Provider("https://llm.internal", errors="gemini")


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (402, "card_error", "card_declined"),
        (429, "invalid_request_error", "rate_limit"),
        (503, "api_error", None),
        (418, "invalid_request_error", None),
    ],
)
def test_stripe_gets_the_error_object_its_sdk_reads(
    clock: Clock, status: int, kind: str, code: str | None
) -> None:
    # A trial's: `{"error": "<text>"}` made Stripe's SDK fail inside its own error handling
    # ('str' object has no attribute 'get'), so the app's `except stripe.APIError` never ran.
    # Stripe's SDK reads `error` as an object (type, code, message) and the Request-Id header.
    with FaultInjector({"stripe": "https://api.stripe.com"}, clock=clock) as faults:
        faults.fail("stripe", status)
        answer = httpx.post("https://api.stripe.com/v1/payment_intents", data={"amount": "1"})
    assert answer.status_code == status
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == (kind, code)
    assert error["message"].endswith(INJECTED)
    assert answer.headers["Request-Id"] == "req_injected_by_pytest_hardening"
    assert Provider("https://stripe.internal.example", errors="stripe").errors == "stripe"


@pytest.mark.parametrize(
    ("host", "status", "code"),
    [
        ("generativelanguage.googleapis.com", 429, "RESOURCE_EXHAUSTED"),
        ("generativelanguage.googleapis.com", 503, "UNAVAILABLE"),
        ("us-central1-aiplatform.googleapis.com", 504, "DEADLINE_EXCEEDED"),
        ("aiplatform.googleapis.com", 418, "FAILED_PRECONDITION"),
    ],
)
def test_gemini_and_vertex_get_googles_error_object(
    clock: Clock, host: str, status: int, code: str
) -> None:
    # A trial's: google-genai read the plain body as `503 None` (e.status and e.message None),
    # so an app branching on e.status == "RESOURCE_EXHAUSTED" never took that branch.
    with FaultInjector({"gemini": f"https://{host}"}, clock=clock) as faults:
        faults.fail("gemini", status)
        answer = httpx.post(f"https://{host}/v1beta/models/gemini-2.5-flash:generateContent")
    assert answer.status_code == status
    error = answer.json()["error"]
    assert (error["code"], error["status"]) == (status, code)
    assert error["message"].endswith(INJECTED)
    assert Provider("https://storage.googleapis.com", errors="google").errors == "google"
