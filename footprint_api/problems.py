"""The one mapping of errors to answers: RFC 9457 problem responses (application/problem+json) for machines, and
the same error as a page of the web application for people. Installed by the application factory, above both
edges, so neither the JSON API nor the pages import the other."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from footprint_api.core.errors import ServiceError
from footprint_api.core.settings import get_settings
from footprint_api.infra.http import problem
from footprint_api.persistence.db import outage, unavailable
from footprint_api.web.errors import error_page, is_page_request
from label_service.storage import StorageError
from lca_models.factor_set import FactorSetError
from pcr_rules import InventoryInvalid, PCRNotFound

log = logging.getLogger(__name__)


def _field(loc) -> str:
    """('body', 'inventory', 'items', 2, 'amount') -> 'inventory.items[2].amount', as the PCR validation names it."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header", "form"):
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(body)"


def _answer(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[dict] | None = None,
    headers: dict | None = None,
    code: str = "",
    params: dict | None = None,
    signed_in_look_up: bool = True,
):
    """problem+json for machines; for a page of the web application, the same error as a page, worded in the
    reader's language where the error names its message (`code`, `params`)."""
    if is_page_request(request):
        return error_page(
            request, status, title, detail, errors, code=code, params=params, headers=headers, look_up=signed_in_look_up
        )
    return problem(status, title, detail, errors, headers)


# The PACT API answers its errors in its own shape (PACT Technical Specification v3, Error Responses)
PACT_PREFIX = "/3/"


def database_unavailable(request: Request, exc: SQLAlchemyError):
    """503 with Retry-After for a database that cannot serve now: problem+json, a page for people, the PACT error
    shape on the PACT API. The signed-in person is not looked up for the page (that would ask the database again)."""
    outage.failed(exc)
    busy = isinstance(exc, PoolTimeout)
    retry = {"Retry-After": "1" if busy else str(get_settings().db_retry_after_seconds)}
    if busy:
        title, detail = "Service busy", "no database connection became free in time; retry shortly"
    else:
        title, detail = "Database unavailable", "the database does not answer now; retry shortly"
    if request.url.path.startswith(PACT_PREFIX):
        return JSONResponse({"code": "InternalError", "message": detail}, status_code=503, headers=retry)
    code = "error.503.busy" if busy else "error.503.database"
    return _answer(request, 503, title, detail, headers=retry, code=code, signed_in_look_up=False)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError):
        headers = getattr(exc, "headers", None) or (
            {"WWW-Authenticate": "Bearer"}
            if exc.status == 401
            else ({"Retry-After": "30"} if exc.status == 503 else None)
        )
        return _answer(request, exc.status, exc.title, exc.detail, exc.errors, headers, exc.code, exc.params)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"field": _field(e["loc"]), "reason": e["msg"], "code": e["type"]} for e in exc.errors()]
        return _answer(request, 422, "Unprocessable content", "the request does not match the schema", errors)

    @app.exception_handler(InventoryInvalid)
    async def _inventory(request: Request, exc: InventoryInvalid):
        errors = [e.entry() for e in exc.errors]  # the English reason, with its message code and values
        return _answer(request, 422, "Inventory does not satisfy its PCR", f"{len(errors)} problem(s)", errors)

    @app.exception_handler(PCRNotFound)
    async def _pcr(request: Request, exc: PCRNotFound):
        return _answer(request, 422, "Unknown PCR", str(exc), [{"field": "pcr", "reason": str(exc)}])

    @app.exception_handler(FactorSetError)
    async def _factor(request: Request, exc: FactorSetError):
        return _answer(request, 422, "Factor missing", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return _answer(
            request,
            exc.status_code,
            str(exc.detail),
            str(exc.detail),
            getattr(exc, "errors", None),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError):
        log.warning("object store unavailable: %s", exc)
        return _answer(
            request,
            503,
            "Storage unavailable",
            "the file store does not answer now; retry shortly",
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError):
        if not unavailable(exc):
            raise exc  # a constraint violation or an error of the code: not an outage, and not answered as one
        return database_unavailable(request, exc)
