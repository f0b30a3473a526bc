"""Production mode: refusal of unsafe config, no test routes, no docs, terse health, no traces."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reference_app import ConfigurationError, create_app, load_settings

from .conftest import ADMIN_TOKEN

TEST_ROUTES = ("/api/test/email-connection", "/api/test/send-otp")


def test_create_app_reads_the_environment_at_call_time_and_refuses_unsafe_production(
    monkeypatch: pytest.MonkeyPatch, prod_env: dict[str, str]
) -> None:
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FRONTEND_URL")
    monkeypatch.setenv("GOOGLE_CALLBACK_URL", "http://localhost:8080/cb")

    with pytest.raises(ConfigurationError) as error:
        create_app()

    assert {"FRONTEND_URL", "GOOGLE_CALLBACK_URL"} <= set(error.value.variables)
    assert prod_env["MONITORING_ADMIN_TOKEN"] not in str(error.value)


def test_test_routes_exist_in_development(client: TestClient) -> None:
    assert client.get("/api/test/email-connection").status_code == 200
    response = client.post("/api/test/send-otp", json={"email": "dev@example.com"})
    assert response.status_code == 200
    assert response.json()["destination"] == "d***@example.com"
    assert "otp" not in {k.lower() for k in response.json()}
    assert client.get("/docs").status_code == 200
    assert "/api/test/send-otp" in client.get("/openapi.json").json()["paths"]


def test_production_has_no_test_routes_docs_or_public_schema(prod_client: TestClient) -> None:
    assert prod_client.get("/api/test/email-connection").status_code == 404
    assert prod_client.post("/api/test/send-otp", json={"email": "a@b.co"}).status_code == 404
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert prod_client.get(path).status_code == 404, path
    schema = prod_client.app.openapi()  # type: ignore[attr-defined]
    assert not [p for p in schema["paths"] if p.startswith("/api/test")]
    assert "/api/calls" in schema["paths"]


def test_production_health_is_terse_for_anonymous_callers(prod_client: TestClient) -> None:
    anonymous = prod_client.get("/api/monitoring/health")
    assert anonymous.json() == {"status": "healthy"}

    admin = prod_client.get(
        "/api/monitoring/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert admin.json()["mode"] == "production"
    assert "circuit_breakers" in admin.json()


def test_production_monitoring_details_are_admin_only(prod_client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for path in ("metrics", "circuit-breakers", "system", "prometheus"):
        assert prod_client.get(f"/api/monitoring/{path}").status_code == 401, path
        assert prod_client.get(f"/api/monitoring/{path}", headers=admin).status_code == 200, path


def test_cors_allows_only_the_configured_origins_with_credentials(
    prod_client: TestClient,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = prod_client.options(
        "/api/calls", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = prod_client.options(
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


def test_send_otp_validation_does_not_echo_the_address(client: TestClient) -> None:
    response = client.post("/api/test/send-otp", json={"email": "not-an-email-secret"})
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
