"""The web edge: pages for people (bilingual, server-rendered), their static files, the API docs pages, and the
security headers every response of the service carries."""

from fastapi import FastAPI

from footprint_api.web import docs
from footprint_api.web.headers import SecurityHeaders
from footprint_api.web.routes import (
    admin,
    backgrounds,
    benchmarks,
    certification,
    factors,
    inventory,
    labels,
    manufacturer,
    pcr_authoring,
    pcr_library,
    procurement,
    public,
    signin,
    suppliers,
    supply,
    workbook,
)
from footprint_api.web.static import PREFIX, VersionedStaticFiles

PAGES = (
    signin,
    public,
    manufacturer,
    workbook,
    inventory,
    certification,
    labels,
    admin,
    pcr_authoring,
    pcr_library,
    supply,
    suppliers,
    factors,
    benchmarks,
    procurement,
    backgrounds,
)


def install(app: FastAPI) -> None:
    """Mounts /static, adds /docs and /redoc (create the app with docs_url=None, redoc_url=None), and wraps the
    whole application in SecurityHeaders: outside Starlette's ServerErrorMiddleware, so that a 500 answer carries
    the headers too (middleware added with add_middleware runs inside it)."""
    app.mount(PREFIX, VersionedStaticFiles(), name="static")
    for part in PAGES:
        app.include_router(part.router)
    policies = docs.install(app)
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build(), policies)
