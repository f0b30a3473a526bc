"""A SQLModel app imported afresh (production builds, builds under another env, the command's
audit): SQLModel keeps one ``MetaData`` and one class registry for the whole process, so a
second import of the app's models declared its tables again: "Table 'game' is already
defined for this MetaData instance", before any check ran (and the command called a good env
file not safe to release). The fresh import takes a copy of sqlmodel with it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hardening import EnvPatch, app_from_import
from pytest_hardening._build_modes import production_build

CONFIG = """
import os

APP_ENV = os.environ.get("APP_ENV", "development")
SECRET_KEY = os.environ.get("SECRET_KEY", "changethis")
if APP_ENV == "production" and SECRET_KEY == "changethis":
    raise RuntimeError("SECRET_KEY must be set in production")
"""

MODELS = """
from sqlmodel import Field, Relationship, SQLModel


class Game(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    players: list["Player"] = Relationship(back_populates="game")


class Player(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    game_id: int | None = Field(default=None, foreign_key="game.id")
    game: Game | None = Relationship(back_populates="players")
"""

MAIN = """
from fastapi import FastAPI
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine, select

from games import config
from games.models import Game, Player

engine = create_engine(
    "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
)
SQLModel.metadata.create_all(engine)
app = FastAPI(debug=config.APP_ENV != "production")


@app.post("/games/{name}")
def add(name: str) -> dict:
    with Session(engine) as session:
        game = Game(name=name, players=[Player(), Player()])
        session.add(game)
        session.commit()
        return {"players": len(game.players)}


@app.get("/games")
def games() -> list[str]:
    with Session(engine) as session:
        return [g.name for g in session.exec(select(Game))]
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import


@pytest.fixture
def hardening_app_factory():
    return app_from_import("games.main:app")


@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "SECRET_KEY": "s3cr3t-k3y-for-prod"}
"""

TESTS = """
import games.main  # the tests' own import, at the top, as most suites do


def test_a_development_request(hardened_client):
    assert hardened_client.post("/games/chess").json() == {"players": 2}


def test_b_production_builds(prod_config):
    prod_config.assert_accepts()
    error = prod_config.assert_rejects(SECRET_KEY="changethis")
    assert "SECRET_KEY must be set" in str(error)
    assert prod_config.audit(optional=["APP_ENV"]).rejected


def test_c_the_tests_own_models_still_map(hardened_client):
    from sqlmodel import Session

    from games.models import Game, Player

    game = Game(name="go", players=[Player()])  # the relationship resolves the tests' Player
    with Session(games.main.engine) as session:
        session.add(game)
        session.commit()
        assert type(game.players[0]) is Player
    assert hardened_client.post("/games/go").json() == {"players": 2}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkpydir("games")
    for name, text in (("config", CONFIG), ("models", MODELS), ("main", MAIN)):
        pytester.path.joinpath("games", f"{name}.py").write_text(text)
    pytester.makeconftest(CONFTEST)
    pytester.syspathinsert()
    return pytester


def test_production_builds_of_a_sqlmodel_app(project: pytest.Pytester) -> None:
    project.makepyfile(test_games=TESTS)
    result = project.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-q", "-W", "ignore::UserWarning"
    )
    result.assert_outcomes(passed=3)
    assert "already defined for this MetaData" not in result.stdout.str()


def test_the_command_audits_a_sqlmodel_app(project: pytest.Pytester) -> None:
    project.path.joinpath("prod.env").write_text(
        "APP_ENV=production\nSECRET_KEY=s3cr3t-k3y-for-prod\n"
    )
    command = [sys.executable, "-m", "pytest_hardening", "check-config", "--env-file", "prod.env"]
    command += ["--factory", "games.main:app", "--audit", "--optional", "APP_ENV"]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, cwd=project.path, capture_output=True, text=True, check=False, timeout=120
    )
    assert "already defined" not in done.stdout + done.stderr
    tried = re.search(r"^audit: (\d+) unsafe variants tried", done.stdout, re.M)
    assert tried is not None, done.stdout + done.stderr
    assert int(tried.group(1)) >= 3, done.stdout
    # Judged by the app's own check, on its own copy of the models: "changethis" is refused.
    assert "audit: accepted SECRET_KEY: published default" not in done.stdout
    assert "audit: accepted SECRET_KEY: dropped" not in done.stdout


def test_a_production_build_made_before_sqlmodel_was_imported_leaves_none_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copy imported sqlmodel itself and left it in sys.modules, holding the copy's
    # tables: the next development build declared its own there and was refused.
    package = tmp_path / "games"
    package.mkdir()
    for name, text in (("__init__", ""), ("config", CONFIG), ("models", MODELS), ("main", MAIN)):
        (package / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.partition(".")[0] == "sqlmodel"]:
        monkeypatch.delitem(sys.modules, name)
    try:
        factory = app_from_import("games.main:app")
        with EnvPatch({"APP_ENV": "production", "SECRET_KEY": "s3cr3t"}), production_build():
            factory()
        assert "sqlmodel" not in sys.modules  # went aside with the copy that imported it
        with EnvPatch({"APP_ENV": "development"}):
            assert factory().debug is True  # the development build, its tables declared
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] in ("games", "sqlmodel")]:
            del sys.modules[name]
