"""The FastAPI application."""

import gc
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from footprint_api import problems
from footprint_api.api import (
    audit,
    auth,
    backgrounds,
    batches,
    benchmarks,
    catalogue,
    certification,
    factors,
    footprints,
    inventories,
    notices,
    organisations,
    pcrs,
    procurement,
    public,
    suppliers,
    supply,
)
from footprint_api.infra.limits import BoundedBodies
from footprint_api.pact import routes as pact
from footprint_api.persistence.db import get_engine, reads_only
from footprint_api.services.pcrs.source import install_database_source
from footprint_api.web.routes import notices as notice_pages
from footprint_api.web.routes import verify
from label_service.storage import StorageError


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


# The readiness checks run here, each on its own thread, so one that hangs (a frozen database or store) cannot hold
# the answer; at most this many threads, whatever the number of probes.
_checks = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")
_running_checks: dict[str, tuple[Future, float]] = {}
_running_lock = threading.Lock()
# A check that keeps its own deadline (the store's probe) reports why it failed rather than "no answer"
ANSWER_SLACK_SECONDS = 0.5


def _database_answers() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _started(name: str, check, seconds: float) -> Future:
    """The dependency's check: the one still running (a probe does not stack a thread on a hung one), unless it has
    hung for ten checks' time: then a fresh one, so the answer follows the dependency's recovery."""
    with _running_lock:
        running = _running_checks.get(name)
        if running and not running[0].done() and time.monotonic() - running[1] < 10 * seconds:
            return running[0]
        future = _checks.submit(check)
        _running_checks[name] = (future, time.monotonic())
        return future


def _state(future: Future, seconds: float) -> str:
    if not future.done():
        return f"unavailable (no answer within {seconds:g} s)"
    exc = future.exception()
    if exc is None:
        return "ok"
    if isinstance(exc, StorageError):  # its message names the bucket and what failed, never the endpoint
        return f"unavailable ({exc})"
    return f"unavailable ({type(exc).__name__})"


def readiness() -> dict[str, str]:
    """Each dependency: "ok" or why not (a class of error, never a connection string). The checks run at once, each
    given readiness_check_seconds, so the answer comes within that (and half a second) however they fail."""
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.objects import object_store

    settings = get_settings()
    seconds = settings.readiness_check_seconds
    checks = {
        "database": _database_answers,
        "storage": lambda: object_store().ping(seconds),  # a bucket found missing is created again
    }
    if settings.task_mode == "celery":
        checks["broker"] = lambda: _broker_answers(settings.broker_url, seconds)
    futures = {name: _started(name, check, seconds) for name, check in checks.items()}
    wait(futures.values(), timeout=seconds + ANSWER_SLACK_SECONDS)
    return {name: _state(future, seconds) for name, future in futures.items()}


def _broker_answers(url: str, seconds: float) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=seconds, socket_timeout=seconds).ping()


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
    for module in (
        public,
        auth,
        organisations,
        catalogue,
        inventories,
        footprints,
        certification,
        audit,
        pact,
        pcrs,
        supply,
        suppliers,
        factors,
        benchmarks,
        procurement,
        backgrounds,
        batches,
    ):
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
