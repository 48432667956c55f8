import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request

from footprint_api.api.deps import CurrentPrincipal
from footprint_api.core.errors import Unauthorized, Unprocessable
from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import SessionDep
from footprint_api.schemas import TokenOut
from footprint_api.services import accounts

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _address(request: Request) -> str | None:
    """The client's address as the server saw it (behind a proxy: uvicorn --proxy-headers makes it the real one)."""
    return request.client.host if request.client else None


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    return client_id, secret


@router.post("/token", response_model=TokenOut, summary="OAuth2 token: password or client_credentials grant")
def token(
    request: Request,
    grant_type: Annotated[str, Form(pattern="^(password|client_credentials)$")],
    session: SessionDep,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> TokenOut:
    if grant_type == "password":
        if not username or not password:
            raise Unprocessable("username and password are required", [{"field": "username", "reason": "required"}])
        access, _ = accounts.password_login(session, username, password, address=_address(request))
    else:
        credentials = _basic(authorization) or (client_id, client_secret)
        if not all(credentials):
            raise Unauthorized("client credentials are required (Basic auth or client_id/client_secret)")
        access, _ = accounts.client_login(session, *credentials, address=_address(request))
    return TokenOut(access_token=access, expires_in=get_settings().access_token_minutes * 60)


@router.post("/revoke", status_code=204, summary="Revoke the bearer token of this request")
def revoke(session: SessionDep, principal: CurrentPrincipal) -> None:
    accounts.revoke(session, principal)
