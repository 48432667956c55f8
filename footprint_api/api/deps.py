"""FastAPI dependencies of the JSON API, as `Annotated` aliases: a database session, the calling principal, and the
principal holding one of the roles a route allows."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from footprint_api.core.errors import Forbidden, Unauthorized
from footprint_api.infra.security import Principal, TokenInvalid
from footprint_api.persistence.db import get_session
from footprint_api.persistence.models import Role
from footprint_api.services.principals import ADMIN_ROLES, CB_ROLES, MANUFACTURER_ROLES, authenticate

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

SessionDep = Annotated[Session, Depends(get_session)]
BearerToken = Annotated[str | None, Depends(oauth2)]


def current_principal(token: BearerToken, session: SessionDep) -> Principal:
    if not token:
        raise Unauthorized("a bearer token is required")
    try:
        return authenticate(session, token)
    except TokenInvalid as exc:
        raise Unauthorized(str(exc)) from None


def require(*roles: Role) -> Callable[..., Principal]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:  # no I/O
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
ManufacturerDep = Annotated[Principal, Depends(require(*MANUFACTURER_ROLES))]
CertifierDep = Annotated[Principal, Depends(require(*CB_ROLES))]
AdminDep = Annotated[Principal, Depends(require(*ADMIN_ROLES))]
