"""The FastAPI application."""

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from footprint_api import problems
from footprint_api.api import (
    audit,
    auth,
    catalogue,
    certification,
    footprints,
    inventories,
    notices,
    organisations,
    pcrs,
    public,
)
from footprint_api.infra.limits import BoundedBodies
from footprint_api.pact import routes as pact
from footprint_api.persistence.db import get_engine, reads_only
from footprint_api.services.pcrs.source import install_database_source
from footprint_api.web.routes import notices as notice_pages
from footprint_api.web.routes import verify


class ReadRequests:
    """ASGI middleware: GET and HEAD requests only read, so their database transactions begin as readers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        with reads_only():
            return await self.app(scope, receive, send)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    # Everything loaded so far (Brightway, pint, numpy, the engine when `pcf serve` built it) lives as long as the
    # process: freezing it keeps the garbage collector from walking ~170,000 objects (~100 ms) during requests.
    gc.collect()
    gc.freeze()
    yield


def readiness() -> dict[str, str]:
    """Each dependency: "ok" or why not (a class of error, never a connection string)."""
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.objects import object_store

    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not fail
        checks["database"] = f"unavailable ({type(exc).__name__})"
    try:
        object_store().ping()
        checks["storage"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["storage"] = f"unavailable ({type(exc).__name__})"
    if get_settings().task_mode == "celery":
        checks["broker"] = _broker_state(get_settings().broker_url)
    return checks


def _broker_state(url: str) -> str:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"unavailable ({type(exc).__name__})"


def create_app() -> FastAPI:
    from footprint_api import web

    # every default_registry() of this process (engine, forms, reports, names) reads the published PCR versions
    install_database_source()
    app = FastAPI(
        lifespan=lifespan,
        title="PCF service",
        version="0.2.0",
        summary="Product carbon footprints (GB/T 24067 / ISO 14067) on Brightway, green certificates, carbon labels",
        description="Errors are `application/problem+json` (RFC 9457) with `errors: [{field, reason}]`.",
        docs_url=None,
        redoc_url=None,  # served by web.install from the service's own files, not a CDN
    )
    problems.install(app)
    app.add_exception_handler(pact.PactError, pact.pact_error_response)
    app.add_middleware(ReadRequests)
    app.add_middleware(BoundedBodies)
    # public verification first: routes are matched in order, and these are the most requested
    app.include_router(verify.router)
    for module in (public, auth, organisations, catalogue, inventories, footprints, certification, audit, pact, pcrs):
        app.include_router(module.router)
    app.include_router(notices.router)
    web.install(app)  # /static, /docs, /redoc, and the security headers of every response
    app.include_router(notice_pages.router)  # the inbox page of every signed-in person

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database, the file store and (with Celery) the broker answer; 503 naming what does not",
    )
    def readyz():
        checks = readiness()
        if all(state == "ok" for state in checks.values()):
            return {"status": "ready", "checks": checks}
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503, headers={"Retry-After": "10"})

    return app


app = create_app()
