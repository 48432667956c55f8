"""Authentication: OAuth2 password and client-credentials flows, expiry, revocation, roles."""

import base64
from datetime import UTC, datetime

import jwt

from footprint_api.models import Role
from tests.service import PASSWORD


def test_password_flow_issues_a_bearer_token(world):
    response = world.client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "acme-engineer@test.example", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["role"] == "manufacturer_member"


def test_wrong_password_and_unknown_user_get_the_same_401(world):
    wrong = world.client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "acme-engineer@test.example", "password": "nope"})
    unknown = world.client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "nobody@test.example", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_client_credentials_by_basic_auth_and_by_form(world):
    created = world.call("acme-admin", "POST", f"/api/v1/organisations/{world.organisations['acme']}/clients",
                         json={"name": "ERP connector", "role": "manufacturer_member"})
    assert created.status_code == 201
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = world.client.post("/api/v1/auth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
    by_form = world.client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert by_basic.status_code == by_form.status_code == 200
    token = by_basic.json()["access_token"]
    assert world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bad = world.client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret + "x"})
    assert bad.status_code == 401


def test_expired_token_is_refused(world):
    from footprint_api.security import issue_token
    from footprint_api.settings import get_settings

    claims = jwt.decode(world.token("acme-engineer"), options={"verify_signature": False})
    token, _ = issue_token(claims["sub"], "user", claims["org"], Role.MANUFACTURER_MEMBER,
                           get_settings().signing_key(), minutes=-1)
    response = world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["detail"] == "token expired"


def test_forged_token_is_refused(world):
    claims = jwt.decode(world.token("acme-engineer"), options={"verify_signature": False})
    claims["role"] = "platform_admin"
    forged = jwt.encode(claims, "another key that is long enough to sign", algorithm="HS256")
    assert world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_revoked_token_stops_working_at_once(world):
    token = world.client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": "acme-engineer@test.example", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert world.client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    response = world.client.get("/api/v1/products", headers=headers)
    assert response.status_code == 401 and response.json()["detail"] == "token revoked"


def test_passwords_are_stored_as_argon2id_hashes(world):
    from sqlmodel import select

    from footprint_api.db import session_scope
    from footprint_api.models import User

    with session_scope() as session:
        user = session.exec(select(User).where(User.email == "acme-engineer@test.example")).one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_roles_limit_what_a_principal_may_do(world):
    acme = world.organisations["acme"]
    member = world.call("acme-engineer", "POST", f"/api/v1/organisations/{acme}/users", json={
        "email": "new@test.example", "name": "New", "password": "a long enough password", "role": "manufacturer_member"})
    assert member.status_code == 403
    assert world.call("acme-admin", "POST", "/api/v1/organisations",
                      json={"name": "Mine", "kind": "manufacturer"}).status_code == 403
    assert world.call("root", "POST", "/api/v1/organisations",
                      json={"name": f"Neworg {datetime.now(UTC).timestamp()}", "kind": "manufacturer"}).status_code == 201
    # a role of another kind of organisation cannot be given
    wrong_kind = world.call("acme-admin", "POST", f"/api/v1/organisations/{acme}/users", json={
        "email": "v@test.example", "name": "V", "password": "a long enough password", "role": "verifier"})
    assert wrong_kind.status_code == 403
    # a verifier cannot submit inventories
    assert world.call("cb-verifier", "GET", "/api/v1/products").status_code == 403


def test_no_token_is_401_with_a_bearer_challenge(world):
    response = world.client.get("/api/v1/products")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
