"""Fixture reference: production configuration and routes (``prod_config``, ``route_audit``)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import ProdConfigChecker, RouteAuditor
from reference_app.config import PRODUCTION_OPTIONAL


def test_unsafe_production_config_is_refused(prod_config: ProdConfigChecker) -> None:
    prod_config.assert_accepts()  # .env.production.example boots
    error = prod_config.assert_rejects(drop=["SHOPIFY_WEBHOOK_SECRET"])
    assert "SHOPIFY_WEBHOOK_SECRET" in str(error)
    prod_config.assert_rejects(FRONTEND_URL="http://localhost:3000")
    prod_config.assert_rejects(EXOTEL_WEBHOOK_BASE_URL="https://yourdomain.com")


def test_every_unsafe_variant_is_refused(prod_config: ProdConfigChecker) -> None:
    report = prod_config.audit(optional=["APP_ENV", *PRODUCTION_OPTIONAL])
    assert report.accepted == [], str(report)  # nothing unsafe boots
    assert report.leaks == []  # and no rejection message printed a secret


def test_dev_only_routes_are_absent_in_production(route_audit: RouteAuditor) -> None:
    assert ("POST", "/api/test/send-otp") in route_audit.dev_only()
    route_audit.assert_absent_in_production("/api/test")  # route table, OpenAPI and a 404


@pytest.mark.production
def test_in_production_mode(hardened_client: Any) -> None:
    assert hardened_client.get("/api/test/email-connection").status_code == 404
    assert hardened_client.get("/docs").status_code == 404
