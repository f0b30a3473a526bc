"""Chaos targets for an app that stores notes in an SQLite *file*, as most real apps store in a
file or a server that outlives the process: forked workers given the same environment share it.

The file's folder is ``NOTES_DIR`` (read when the app is built). ``shared`` uses one file and
says nothing about parallel runs; ``per_worker`` names its file after the worker running it
and says its runs share nothing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider
from pytest_hardening.chaos import (
    ChaosContext,
    ChaosTarget,
    DataLossCheck,
    HarnessSession,
    Heal,
    Inject,
    Req,
    Scenario,
    Send,
)

SPELL = "https://spell.example.com"


def _create_app(file_name: str) -> Starlette:
    path = Path(os.environ["NOTES_DIR"]) / file_name
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)")

    async def add(request: Request) -> JSONResponse:
        body = (await request.json())["body"]
        try:  # a failing spell checker only leaves the note unchecked
            async with httpx.AsyncClient(timeout=5) as client:
                checked = (await client.get(f"{SPELL}/check")).status_code == 200
        except httpx.HTTPError:
            checked = False
        cursor = db.execute("INSERT INTO notes (body) VALUES (?)", (body + "!" * checked,))
        return JSONResponse({"id": cursor.lastrowid}, status_code=201)

    async def read(request: Request) -> JSONResponse:
        row = db.execute("SELECT body FROM notes WHERE id = ?", (request.path_params["nid"],))
        found = row.fetchone()
        return JSONResponse({"body": found[0]} if found else {}, status_code=200 if found else 404)

    app = Starlette(routes=[Route("/notes", add, methods=["POST"]), Route("/notes/{nid}", read)])
    app.state.db = db
    return app


def create_shared_app() -> Starlette:
    return _create_app("notes.db")


def create_per_worker_app() -> Starlette:
    return _create_app(f"notes-{os.environ.get('HARDENING_CHAOS_WORKER', 'main')}.db")


def reset_app(app: Any) -> None:
    app.state.db.execute("DELETE FROM notes")


def notes_kept(ctx: ChaosContext) -> DataLossCheck:
    ids = [s.response.json()["id"] for s in ctx.served if s.response.status_code == 201]
    lost = [f"note {i} gone" for i in ids if ctx.client.get(f"/notes/{i}").status_code != 200]
    return DataLossCheck("every note answered 201 is readable", len(ids), tuple(lost))


def _note(ctx: ChaosContext, i: int) -> Req:
    return Req("POST", "/notes", json={"body": f"n{i}"})


def catalogue() -> list[Scenario]:
    return [
        Scenario(
            name=f"spell-{fault}-{n}",
            description=f"spell checker {fault}: notes still stored",
            method=(Inject("spell", fault), Send(_note, count=30, expect=201), Heal("spell")),
            rollback=(Heal(),),
            data_check=notes_kept,
        )
        for n in range(2)
        for fault in ("fail", "refuse", "garbage")
    ]


def _session(factory: Any) -> HarnessSession:
    providers = {"spell": Provider(SPELL, lambda request: httpx.Response(200))}
    return HarnessSession(factory, {}, providers, reset=reset_app)


def shared() -> ChaosTarget:
    return ChaosTarget("notes", catalogue, _session(create_shared_app))


def per_worker() -> ChaosTarget:
    session = _session(create_per_worker_app)
    return ChaosTarget("notes", catalogue, session, parallel_safe=True)
