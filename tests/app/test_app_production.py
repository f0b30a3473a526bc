"""Production mode: refusal of unsafe config, no test routes, no docs, terse health, no traces.

Uses pytest-hardening's ``prod_config``, ``route_audit`` and ``@pytest.mark.production`` with
``hardened_client`` (the known-good env of .env.production.example, a per-test SQLite file).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import ProdConfigChecker, RouteAuditor
from reference_app import ConfigurationError, create_app, load_settings

TEST_ROUTES = {("GET", "/api/test/email-connection"), ("POST", "/api/test/send-otp")}


def test_create_app_reads_the_environment_at_call_time_and_refuses_unsafe_production(
    prod_config: ProdConfigChecker, hardening_prod_env: Mapping[str, str]
) -> None:
    # prod_config sets the env, then calls create_app() with no arguments.
    error = prod_config.assert_rejects(
        drop=["FRONTEND_URL"], GOOGLE_CALLBACK_URL="http://localhost:8080/cb"
    )

    assert isinstance(error, ConfigurationError)
    assert {"FRONTEND_URL", "GOOGLE_CALLBACK_URL"} <= set(error.variables)
    assert hardening_prod_env["MONITORING_ADMIN_TOKEN"] not in str(error)
    prod_config.assert_accepts()  # and the known-good env itself boots


def test_test_routes_exist_in_development(hardened_client: TestClient) -> None:
    client = hardened_client
    assert client.get("/api/test/email-connection").status_code == 200
    response = client.post("/api/test/send-otp", json={"email": "dev@example.com"})
    assert response.status_code == 200
    assert response.json()["destination"] == "d***@example.com"
    assert "otp" not in {k.lower() for k in response.json()}
    assert client.get("/docs").status_code == 200
    assert "/api/test/send-otp" in client.get("/openapi.json").json()["paths"]


def test_production_has_no_test_routes_docs_or_public_schema(route_audit: RouteAuditor) -> None:
    # Route table, OpenAPI document and a real request (404), in a production-mode app.
    assert route_audit.dev_only() >= TEST_ROUTES
    route_audit.assert_absent_in_production("/api/test")
    for docs in ("/docs", "/redoc", "/openapi.json"):
        route_audit.assert_absent_in_production(docs)
    assert {("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json")} <= (
        route_audit.dev_only()
    )
    schema = route_audit.prod_app.openapi()
    assert "/api/calls" in schema["paths"]


@pytest.mark.production
def test_production_test_routes_and_docs_answer_404(hardened_client: TestClient) -> None:
    client = hardened_client
    assert client.get("/api/test/email-connection").status_code == 404
    assert client.post("/api/test/send-otp", json={"email": "a@b.co"}).status_code == 404
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path


@pytest.fixture
def admin(hardening_prod_env: Mapping[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {hardening_prod_env['MONITORING_ADMIN_TOKEN']}"}


@pytest.mark.production
def test_production_health_is_terse_for_anonymous_callers(
    hardened_client: TestClient, admin: dict[str, str]
) -> None:
    anonymous = hardened_client.get("/api/monitoring/health")
    assert set(anonymous.json()) == {"status", "timestamp"}  # the time is no secret
    assert anonymous.json()["status"] == "healthy"

    details = hardened_client.get("/api/monitoring/health", headers=admin)
    assert details.json()["mode"] == "production"
    assert "circuit_breakers" in details.json()


@pytest.mark.production
def test_production_monitoring_details_are_admin_only(
    hardened_client: TestClient, admin: dict[str, str]
) -> None:
    for path in ("metrics", "circuit-breakers", "system", "prometheus"):
        anonymous = hardened_client.get(f"/api/monitoring/{path}", headers={"Authorization": ""})
        assert anonymous.status_code == 401, path
        assert hardened_client.get(f"/api/monitoring/{path}", headers=admin).status_code == 200


@pytest.mark.production
def test_cors_allows_only_the_configured_origins_with_credentials(
    hardened_client: TestClient,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = hardened_client.options(
        "/api/calls", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = hardened_client.options(
        "/api/calls", headers={"Origin": "http://localhost:3000", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


def test_unhandled_errors_reveal_nothing_to_the_client(
    build: Callable[[dict[str, str]], FastAPI], prod_env: dict[str, str]
) -> None:
    app = build(prod_env)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


def test_send_otp_validation_does_not_echo_the_address(hardened_client: TestClient) -> None:
    response = hardened_client.post("/api/test/send-otp", json={"email": "not-an-email-secret"})
    assert response.status_code == 422
    assert "not-an-email-secret" not in response.text


def test_unsupported_database_url_is_a_configuration_error_without_the_password(
    dev_env: dict[str, str],
) -> None:
    env = dev_env | {"DATABASE_URL": "mysql://root:hunter2@db/calls"}
    with pytest.raises(ConfigurationError) as error:
        create_app(load_settings(env))
    assert error.value.variables == ["DATABASE_URL"]
    assert "hunter2" not in str(error.value)
