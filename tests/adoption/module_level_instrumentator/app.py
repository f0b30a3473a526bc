"""The app as prometheus-fastapi-instrumentator's README writes it: built at import, one object
for the whole process, its middleware (and metrics) made on the first call. Its own metric
namespace keeps it apart from the suite's other instrumented app in the same process."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "ok"}


Instrumentator().instrument(app, metric_namespace="module_level").expose(app)
