"""The audit tries any origin (``*``) on every variable the app lets in as a CORS origin, not
only on those named for CORS: an app that adds ``FRONTEND_HOST`` to ``allow_origins`` (a
trial's, the FastAPI full-stack template) let any site in through it, and the audit never
tried it."""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pytest_hardening import ProdConfigChecker

ENV = {
    "FRONTEND_HOST": "https://dashboard.example.com",
    "BACKEND_CORS_ORIGINS": "https://admin.example.com/,https://ops.example.com",
    "API_URL": "https://api.example.com",  # not an origin the app lets in
}


def _create_app() -> FastAPI:
    app = FastAPI()
    listed = [o.rstrip("/") for o in os.environ["BACKEND_CORS_ORIGINS"].split(",")]
    if "*" in listed:
        raise ValueError("BACKEND_CORS_ORIGINS: must list the origins, not *")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[*listed, os.environ["FRONTEND_HOST"]],  # no check of its own
        allow_credentials=False,
    )
    return app


def test_a_variable_the_app_lets_in_as_an_origin_gets_any_origin_too() -> None:
    report = ProdConfigChecker(_create_app, ENV).audit(optional=ENV)
    anyone = [m for m in (*report.accepted, *report.rejected) if m.kind == "any origin"]
    assert sorted(str(m) for m in anyone) == [
        "BACKEND_CORS_ORIGINS: any origin -> '*'",
        "FRONTEND_HOST: any origin -> '*'",
    ]
    assert [str(m) for m in report.accepted if m.kind == "any origin"] == [
        "FRONTEND_HOST: any origin -> '*'"
    ]


def test_mutations_lists_what_the_audit_tries_by_default() -> None:
    # A trial's: mutations() listed "ENVIRONMENT: dropped", which audit() never tries.
    env = {**ENV, "ENVIRONMENT": "production"}
    checker = ProdConfigChecker(_create_app, env)
    listed = {str(m) for m in checker.mutations()}
    assert "ENVIRONMENT: dropped" not in listed
    assert "FRONTEND_HOST: dropped" in listed
    assert "ENVIRONMENT: dropped" in {str(m) for m in checker.mutations(optional=())}
