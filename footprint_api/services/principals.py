"""Who is calling (a bearer token → Principal) and the role groups that decide what they may do. The one check of
every edge: the JSON API, the PACT API and the browser sessions of the web pages, which word their errors
differently."""

from sqlmodel import Session

from footprint_api.core.settings import get_settings
from footprint_api.infra.security import Principal, TokenInvalid, read_token
from footprint_api.persistence.models import ApiClient, RevokedToken, Role, User
from footprint_api.services.audit import Actor

MANUFACTURER_ROLES = (Role.MANUFACTURER_MEMBER, Role.MANUFACTURER_ADMIN)
CB_ROLES = (Role.VERIFIER, Role.CB_ADMIN)
ADMIN_ROLES = (Role.MANUFACTURER_ADMIN, Role.CB_ADMIN, Role.PROCUREMENT_ADMIN, Role.PLATFORM_ADMIN)


def authenticate(session: Session, token: str) -> Principal:
    """The principal of a bearer token that is signed, unexpired, not revoked, of an active account and issued
    after the account's credentials were last ended (disable, password reset); else TokenInvalid ("token expired",
    "token invalid", "token revoked", "account disabled")."""
    principal = read_token(token, get_settings().signing_key())
    if session.get(RevokedToken, principal.jti) is not None:
        raise TokenInvalid("token revoked")
    holder = session.get(User if principal.kind == "user" else ApiClient, principal.subject)
    if holder is None or not holder.active:
        raise TokenInvalid("account disabled")
    ended = holder.credentials_valid_after
    if ended is not None and (
        not isinstance(principal.issued_at, int | float) or principal.issued_at <= ended.timestamp()
    ):
        raise TokenInvalid("token revoked")
    return principal


def actor(principal: Principal) -> Actor:
    return Actor(str(principal.subject), principal.kind, principal.organisation_id)
