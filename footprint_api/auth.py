"""Who is calling (bearer token → Principal) and what they may do (roles)."""

from collections.abc import Callable

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from footprint_api.audit import Actor
from footprint_api.db import get_session
from footprint_api.errors import Forbidden, Unauthorized
from footprint_api.models import ApiClient, RevokedToken, Role, User
from footprint_api.security import Principal, TokenInvalid, read_token
from footprint_api.settings import get_settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

MANUFACTURER_ROLES = (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN)
CB_ROLES = (Role.VERIFIER, Role.CB_ADMIN)
ADMIN_ROLES = (Role.MANUFACTURER_ADMIN, Role.CB_ADMIN, Role.PLATFORM_ADMIN)


def authenticate(session: Session, token: str) -> Principal:
    """The principal of a bearer token that is signed, unexpired, not revoked, of an active account and issued
    after the account's credentials were last ended (disable, password reset); else TokenInvalid ("token expired",
    "token invalid", "token revoked", "account disabled"). The one check of every edge: /api/v1, the PACT API and
    the browser sessions of the web pages, which word their errors differently."""
    principal = read_token(token, get_settings().signing_key())
    if session.get(RevokedToken, principal.jti) is not None:
        raise TokenInvalid("token revoked")
    holder = session.get(User if principal.kind == "user" else ApiClient, principal.subject)
    if holder is None or not holder.active:
        raise TokenInvalid("account disabled")
    ended = holder.credentials_valid_after
    if ended is not None and (not isinstance(principal.issued_at, int | float)
                              or principal.issued_at <= ended.timestamp()):
        raise TokenInvalid("token revoked")
    return principal


def current_principal(token: str | None = Depends(oauth2), session: Session = Depends(get_session)) -> Principal:
    if not token:
        raise Unauthorized("a bearer token is required")
    try:
        return authenticate(session, token)
    except TokenInvalid as exc:
        raise Unauthorized(str(exc)) from None


def require(*roles: Role) -> Callable[..., Principal]:
    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:  # no I/O: no thread
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency


def actor(principal: Principal) -> Actor:
    return Actor(str(principal.subject), principal.kind, principal.organisation_id)
