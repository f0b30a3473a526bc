import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app():
    async def rate(request):
        client = request.app.state.http
        try:
            response = await client.get("https://rates.example/eur")
            response.raise_for_status()
        except httpx.HTTPError:
            return JSONResponse({"eur": None}, status_code=503)
        return JSONResponse(response.json())

    async def lifespan(app):
        async with httpx.AsyncClient() as app.state.http:
            yield

    return Starlette(routes=[Route("/rate", rate)], lifespan=lifespan)


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    return {"rates": ("https://rates.example", httpx.Response(200, json={"eur": 1.08}))}
