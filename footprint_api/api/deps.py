"""FastAPI dependencies of the JSON API as `Annotated` aliases: the calling principal, and the principal holding
one of the roles a route allows. (The request's database session, `SessionDep`, is `persistence.db`'s: the pages
use it too.)"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Response
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from footprint_api.core.errors import Forbidden, Unauthorized
from footprint_api.infra.security import Principal, TokenInvalid
from footprint_api.persistence.db import SessionDep, reads_only, session_scope
from footprint_api.persistence.models import Role
from footprint_api.services.principals import (
    ADMIN_ROLES,
    CB_ROLES,
    MANUFACTURER_ROLES,
    authenticate,
    credential_cache,
)

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
BearerToken = Annotated[str | None, Depends(oauth2)]


def current_principal(token: BearerToken, session: SessionDep) -> Principal:
    """The caller of a token, checked in the request's session (for a dependency that has one already)."""
    if not token:
        raise Unauthorized("a bearer token is required")
    try:
        return authenticate(session, token)
    except TokenInvalid as exc:
        raise Unauthorized(str(exc)) from None


async def caller(token: BearerToken) -> Principal:
    """On the event loop when this process checked the token moments ago (services.principals' cache: no thread, no
    query); else checked against the database on a worker thread, in a session of its own that only reads (the
    route's own session, if it has one, is not opened for it)."""
    if not token:
        raise Unauthorized("a bearer token is required")
    principal = credential_cache.trusted(token)
    if principal is not None:
        return principal
    try:
        return await run_in_threadpool(_checked, token)
    except TokenInvalid as exc:
        raise Unauthorized(str(exc)) from None


def _checked(token: str) -> Principal:
    with reads_only(), session_scope() as session:
        return authenticate(session, token)


CurrentPrincipal = Annotated[Principal, Depends(caller)]


def require(*roles: Role) -> Callable[..., Principal]:
    async def dependency(principal: CurrentPrincipal) -> Principal:  # no I/O: no thread
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency


ManufacturerDep = Annotated[Principal, Depends(require(*MANUFACTURER_ROLES))]
CertifierDep = Annotated[Principal, Depends(require(*CB_ROLES))]
ParticipantDep = Annotated[Principal, Depends(require(*MANUFACTURER_ROLES, *CB_ROLES))]  # either side of a case
AdminDep = Annotated[Principal, Depends(require(*ADMIN_ROLES))]
PlatformAdminDep = Annotated[Principal, Depends(require(Role.PLATFORM_ADMIN))]
ManufacturerAdminDep = Annotated[Principal, Depends(require(Role.MANUFACTURER_ADMIN))]
CertificationAdminDep = Annotated[Principal, Depends(require(Role.CB_ADMIN))]


# --- lists a client may page through ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """A search of a list: given any of `q`, `sort`, `page`, `size`, the JSON route answers one page of it (the
    total in X-Total-Count); given none, the whole list, as before."""

    q: str | None = None
    sort: str | None = None
    page: int | None = None
    size: int | None = None

    @property
    def paged(self) -> bool:
        return any(v is not None for v in (self.q, self.sort, self.page, self.size))


def _list_query(
    q: Annotated[str | None, Query(max_length=100, description="search text (name, model, GTIN, province…)")] = None,
    sort: Annotated[str | None, Query(max_length=20, description="sort key, e.g. name, -created")] = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description="page number, from 1")] = None,
    size: Annotated[int | None, Query(ge=1, le=100, description="rows per page: 10, 25, 50 or 100")] = None,
) -> ListQuery:
    return ListQuery(q, sort, page, size)


ListQueryDep = Annotated[ListQuery, Depends(_list_query)]


def page_answer(found, response: Response) -> list:
    """The rows of one page, with the size of the whole list in X-Total-Count."""
    response.headers["X-Total-Count"] = str(found.total)
    return found.rows
