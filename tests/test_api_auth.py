"""Authentication: OAuth2 password and client-credentials flows, expiry, revocation, roles."""

import base64
import uuid
from datetime import UTC, datetime

import jwt
import pytest

from footprint_api.persistence.models import Role
from tests.service import PASSWORD


def test_password_flow_issues_a_bearer_token(world):
    response = world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "acme-engineer@test.example", "password": PASSWORD},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["role"] == "manufacturer_member"


def test_wrong_password_and_unknown_user_get_the_same_401(world):
    wrong = world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "acme-engineer@test.example", "password": "nope"},
    )
    unknown = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": "nobody@test.example", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_client_credentials_by_basic_auth_and_by_form(world):
    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "ERP connector", "role": "manufacturer_member"},
    )
    assert created.status_code == 201
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    by_form = world.client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert by_basic.status_code == by_form.status_code == 200
    token = by_basic.json()["access_token"]
    assert world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bad = world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret + "x"},
    )
    assert bad.status_code == 401


def test_expired_token_is_refused(world):
    from footprint_api.core.settings import get_settings
    from footprint_api.infra.security import issue_token

    claims = jwt.decode(world.token("acme-engineer"), options={"verify_signature": False})
    token, _ = issue_token(
        claims["sub"], "user", claims["org"], Role.MANUFACTURER_MEMBER, get_settings().signing_key(), minutes=-1
    )
    response = world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["detail"] == "token expired"


def test_forged_token_is_refused(world):
    claims = jwt.decode(world.token("acme-engineer"), options={"verify_signature": False})
    claims["role"] = "platform_admin"
    forged = jwt.encode(claims, "another key that is long enough to sign", algorithm="HS256")
    assert world.client.get("/api/v1/products", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_revoked_token_stops_working_at_once(world):
    token = world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "acme-engineer@test.example", "password": PASSWORD},
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert world.client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    response = world.client.get("/api/v1/products", headers=headers)
    assert response.status_code == 401 and response.json()["detail"] == "token revoked"


def test_passwords_are_stored_as_argon2id_hashes(world):
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import User

    with session_scope() as session:
        user = session.exec(select(User).where(User.email == "acme-engineer@test.example")).one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_roles_limit_what_a_principal_may_do(world):
    acme = world.organisations["acme"]
    member = world.call(
        "acme-engineer",
        "POST",
        f"/api/v1/organisations/{acme}/users",
        json={
            "email": "new@test.example",
            "name": "New",
            "password": "a long enough password",
            "role": "manufacturer_member",
        },
    )
    assert member.status_code == 403
    assert (
        world.call(
            "acme-admin", "POST", "/api/v1/organisations", json={"name": "Mine", "kind": "manufacturer"}
        ).status_code
        == 403
    )
    assert (
        world.call(
            "root",
            "POST",
            "/api/v1/organisations",
            json={"name": f"Neworg {datetime.now(UTC).timestamp()}", "kind": "manufacturer"},
        ).status_code
        == 201
    )
    # a role of another kind of organisation cannot be given
    wrong_kind = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{acme}/users",
        json={"email": "v@test.example", "name": "V", "password": "a long enough password", "role": "verifier"},
    )
    assert wrong_kind.status_code == 403
    # a verifier cannot submit inventories
    assert world.call("cb-verifier", "GET", "/api/v1/products").status_code == 403


def test_no_token_is_401_with_a_bearer_challenge(world):
    response = world.client.get("/api/v1/products")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


# Accounts end all their credentials at once: disable, password reset, machine clients.


def _new_user(world, admin: str = "acme-admin", organisation: str = "acme", role: str = "manufacturer_member"):
    email = f"staff-{uuid.uuid4().hex[:8]}@test.example"
    created = world.call(
        admin,
        "POST",
        f"/api/v1/organisations/{world.organisations[organisation]}/users",
        json={"email": email, "name": "Staff", "password": PASSWORD, "role": role},
    )
    assert created.status_code == 201, created.text
    return created.json(), email


def _sign_in(world, email: str, password: str = PASSWORD):
    return world.client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _audited(world, action: str, object_id: str) -> list[dict]:
    entries = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    while len(entries) == 1000:  # the trail of a long module: read it all
        more = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000, "after_seq": entries[-1]["seq"]})
        entries += more.json()
        if len(more.json()) < 1000:
            break
    return [e for e in entries if e["action"] == action and e["object_id"] == object_id]


def test_disabling_a_user_ends_their_api_token_and_browser_session_at_once(world):
    from tests.web_client import Browser

    user, email = _new_user(world)
    token = _sign_in(world, email).json()["access_token"]
    browser = Browser(world.client.app)
    browser.sign_in(email.removesuffix("@test.example"))
    session_token = browser.client.cookies.get("pcf_session")
    assert world.client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    disabled = world.call("acme-admin", "POST", f"/api/v1/users/{user['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert world.client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert world.client.get("/api/v1/me", headers=_bearer(session_token)).status_code == 401
    assert browser.get("/app").status_code == 303 and browser.get("/app").headers["location"].startswith("/login")
    assert _sign_in(world, email).status_code == 401
    [entry] = _audited(world, "user.disabled", user["id"])
    assert entry["before"] == {"active": True} and entry["after"]["active"] is False


def test_enabling_again_does_not_revive_tokens_issued_before_the_disable(world):
    user, email = _new_user(world)
    old = _sign_in(world, email).json()["access_token"]
    world.call("acme-admin", "POST", f"/api/v1/users/{user['id']}/disable")
    enabled = world.call("acme-admin", "POST", f"/api/v1/users/{user['id']}/enable")
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    refused = world.client.get("/api/v1/me", headers=_bearer(old))
    assert refused.status_code == 401 and refused.json()["detail"] == "token revoked"
    new = _sign_in(world, email)
    assert new.status_code == 200
    assert world.client.get("/api/v1/me", headers=_bearer(new.json()["access_token"])).status_code == 200
    assert len(_audited(world, "user.enabled", user["id"])) == 1


def test_a_password_reset_ends_the_old_sessions_and_the_old_password(world):
    user, email = _new_user(world)
    old = _sign_in(world, email).json()["access_token"]
    reset = world.call(
        "acme-admin", "POST", f"/api/v1/users/{user['id']}/password", json={"password": "a brand new passphrase"}
    )
    assert reset.status_code == 200 and reset.json()["password"] is None
    assert world.client.get("/api/v1/me", headers=_bearer(old)).status_code == 401
    assert _sign_in(world, email).status_code == 401
    assert _sign_in(world, email, "a brand new passphrase").status_code == 200
    [entry] = _audited(world, "user.password_reset", user["id"])
    assert "a brand new passphrase" not in str(entry) and entry["after"]["generated"] is False


def test_a_generated_password_is_returned_once_and_works(world):
    user, email = _new_user(world)
    reset = world.call("acme-admin", "POST", f"/api/v1/users/{user['id']}/password")
    generated = reset.json()["password"]
    assert reset.status_code == 200 and len(generated) >= 20
    assert _sign_in(world, email, generated).status_code == 200
    assert generated not in str(_audited(world, "user.password_reset", user["id"]))


def test_a_too_short_password_is_refused_naming_the_field_and_nothing_changes(world):
    user, email = _new_user(world)
    reset = world.call("acme-admin", "POST", f"/api/v1/users/{user['id']}/password", json={"password": "short"})
    assert reset.status_code == 422 and "password" in reset.text
    assert _sign_in(world, email).status_code == 200


def test_disabling_a_machine_client_ends_its_token(world):
    acme = world.organisations["acme"]
    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{acme}/clients",
        json={"name": "ERP", "role": "manufacturer_member"},
    ).json()
    token = world.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    ).json()["access_token"]
    assert world.client.get("/api/v1/products", headers=_bearer(token)).status_code == 200
    listed = world.call("acme-admin", "GET", f"/api/v1/organisations/{acme}/clients").json()
    assert created["client_id"] in [c["client_id"] for c in listed] and "client_secret" not in str(listed)
    disabled = world.call("acme-admin", "POST", f"/api/v1/clients/{created['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert world.client.get("/api/v1/products", headers=_bearer(token)).status_code == 401
    world.call("acme-admin", "POST", f"/api/v1/clients/{created['id']}/enable")
    assert world.client.get("/api/v1/products", headers=_bearer(token)).status_code == 401
    assert len(_audited(world, "client.disabled", created["id"])) == 1
    assert len(_audited(world, "client.enabled", created["id"])) == 1


def test_admins_manage_only_their_own_organisation_and_members_nobody(world):
    user, _ = _new_user(world)
    assert world.call("rival-admin", "POST", f"/api/v1/users/{user['id']}/disable").status_code == 404
    assert world.call("cb-admin", "POST", f"/api/v1/users/{user['id']}/password").status_code == 404
    assert world.call("acme-engineer", "POST", f"/api/v1/users/{user['id']}/disable").status_code == 403
    assert world.call("root", "POST", f"/api/v1/users/{user['id']}/disable").status_code == 200
    assert (
        world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['rival']}/users").status_code
        == 404
    )


def test_an_admin_cannot_disable_their_own_account(world):
    me = world.call("acme-admin", "GET", "/api/v1/me").json()
    assert world.call("acme-admin", "POST", f"/api/v1/users/{me['id']}/disable").status_code == 409


def test_organisations_listed_are_those_one_administers(world):
    mine = world.call("acme-admin", "GET", "/api/v1/organisations").json()
    assert [o["id"] for o in mine] == [str(world.organisations["acme"])]
    everything = {o["id"] for o in world.call("root", "GET", "/api/v1/organisations").json()}
    assert {str(i) for i in world.organisations.values()} <= everything


def _new_person(world, name: str) -> str:
    email = f"{name}-{uuid.uuid4().hex[:6]}@test.example"
    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/users",
        json={"email": email, "name": name, "password": "a long enough password", "role": "manufacturer_member"},
    )
    assert created.status_code == 201, created.text
    return email


def _password_grant(world, email: str, password: str):
    return world.client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )


def test_wrong_passwords_lock_the_account_with_429_and_retry_after(world):
    """5 failures within 15 minutes lock the account for the rest of the window (services.throttle): the 6th try
    is refused before the password is checked, even the right password, and it is all in the audit trail."""
    email = _new_person(world, "guessed")
    statuses = [_password_grant(world, email, f"wrong {n}").status_code for n in range(5)]
    assert statuses == [401] * 5
    locked = _password_grant(world, email, "a long enough password")
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 15 * 60
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent

    with session_scope() as session:
        entries = session.exec(select(AuditEvent).where(AuditEvent.object_id == f"account:{email}")).all()
    assert len(entries) == 5 and entries[-1].after["locked"] == [f"account:{email}"]


def test_a_successful_sign_in_clears_the_accounts_failures(world):
    email = _new_person(world, "forgetful")
    for n in range(4):
        assert _password_grant(world, email, f"wrong {n}").status_code == 401
    assert _password_grant(world, email, "a long enough password").status_code == 200
    for n in range(4):  # counted afresh
        assert _password_grant(world, email, f"wrong again {n}").status_code == 401
    assert _password_grant(world, email, "a long enough password").status_code == 200


def test_client_credentials_are_throttled_too(world):
    client = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "erp", "role": "manufacturer_member"},
    ).json()
    for n in range(5):
        wrong = world.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": f"wrong {n}"},
        )
        assert wrong.status_code == 401
    right = world.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert right.status_code == 429 and right.headers["retry-after"]


def test_many_accounts_tried_from_one_address_lock_the_address(world):
    """30 failures from one address within the window lock it, whichever accounts they tried."""
    import pytest

    from footprint_api.persistence.db import session_scope
    from footprint_api.services import throttle

    with session_scope() as session:
        for n in range(throttle.ADDRESS_LIMIT):
            throttle.failed(session, throttle.keys(f"someone-{n}@test.example", "203.0.113.9"), "password")
        with pytest.raises(throttle.TooManyAttempts):
            throttle.reserve(session, throttle.keys("anyone-else@test.example", "203.0.113.9"))
        throttle.reserve(session, throttle.keys("anyone-else@test.example", "203.0.113.10"))


def test_a_token_sign_in_is_the_persons_last_sign_in_and_a_failed_one_is_not(world):
    email = _new_person(world, "counted")
    listed = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    assert next(u for u in listed if u["email"] == email)["last_sign_in_at"] is None
    before = datetime.now(UTC)
    assert _password_grant(world, email, "a long enough password").status_code == 200
    listed = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    signed_in = datetime.fromisoformat(next(u for u in listed if u["email"] == email)["last_sign_in_at"])
    assert before <= signed_in <= datetime.now(UTC)
    assert _password_grant(world, email, "the wrong password").status_code == 401
    listed = world.call("acme-admin", "GET", f"/api/v1/organisations/{world.organisations['acme']}/users").json()
    assert datetime.fromisoformat(next(u for u in listed if u["email"] == email)["last_sign_in_at"]) == signed_in


def test_a_locked_account_is_told_on_the_sign_in_page_in_chinese_for_how_long(world):
    """5 failures (from another address, so this client's own address stays unlocked) lock the account for the
    rest of its 15-minute window: the sign-in form says so, in the reader's language, with the minutes left rounded
    up, and answers 429 with Retry-After (not an error page)."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import throttle
    from tests.web_client import csrf_of

    email = _new_person(world, "locked-out")
    with session_scope() as session:
        for _ in range(throttle.ACCOUNT_LIMIT):
            throttle.failed(session, throttle.keys(email, "198.51.100.7"), "password")
    headers = {"Accept": "text/html", "Accept-Language": "zh-CN"}
    page = world.client.get("/login", headers=headers)
    response = world.client.post(
        "/login",
        data={"email": email, "password": "a long enough password", "next": "/app", "csrf_token": csrf_of(page.text)},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 429 and 0 < int(response.headers["retry-after"]) <= 900
    minutes = -(-int(response.headers["retry-after"]) // 60)
    assert f"登录失败次数过多，该账户已暂时锁定。请在 {minutes} 分钟后再试，或请管理员解除锁定。" in response.text
    assert 'id="email"' in response.text  # the form again, the address kept


# --- concurrency and proxies (issue 19, items 3 and 4) -------------------------------------------------------------


def test_twenty_concurrent_wrong_passwords_check_at_most_five(world, monkeypatch):
    """Every attempt is counted before its password is checked (services.throttle.reserve): of 20 guesses at once
    for one account (limit 5), 5 are checked (5 argon2 verifications, 5 × 401) and 15 are refused with 429."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from footprint_api.core.errors import Unauthorized
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import accounts, throttle

    email = _new_person(world, "raced")
    checked, real = [], accounts.verify_secret
    monkeypatch.setattr(accounts, "verify_secret", lambda secret, hashed: checked.append(1) or real(secret, hashed))
    start = threading.Barrier(20)

    def guess(n: int) -> int:
        start.wait()
        with session_scope() as session:
            try:
                accounts.password_login(session, email, f"wrong {n}", address="192.0.2.77")
            except Unauthorized:
                return 401
            except throttle.TooManyAttempts:
                return 429
        return 200

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert (statuses.count(401), statuses.count(429), len(checked)) == (5, 15, 5), statuses


def _served(trusted: list[str], peer: str):
    """The application as `pcf serve` runs it (uvicorn's own wrapping, with the proxy options serve gives it),
    reached from `peer`."""
    import uvicorn
    from fastapi.testclient import TestClient

    from footprint_api.app import create_app
    from footprint_api.cli import proxy_headers
    from footprint_api.core.settings import Settings

    config = uvicorn.Config(create_app(), **proxy_headers(Settings(trusted_proxies=trusted)))
    config.load()
    return TestClient(config.loaded_app, client=(peer, 41000))


def _guesses(client, tries: int, forwarded: str) -> list[int]:
    """One wrong password for each of `tries` accounts, X-Forwarded-For giving another address each time."""
    return [
        client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": f"nobody-{uuid.uuid4().hex[:8]}@test.example", "password": "x"},
            headers={"X-Forwarded-For": forwarded.format(n=n)},
        ).status_code
        for n in range(tries)
    ]


def test_a_client_rotating_x_forwarded_for_still_meets_its_addresss_limit(world):
    """Without a trusted proxy (the default) the header is the client's own text: 30 guesses from 192.0.2.31, each
    claiming another address, lock 192.0.2.31, and the 31st is refused."""
    from footprint_api.services import throttle

    with _served([], "192.0.2.31") as client:
        statuses = _guesses(client, throttle.ADDRESS_LIMIT + 1, "198.51.100.{n}")
    assert statuses == [401] * throttle.ADDRESS_LIMIT + [429]


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_counted(world):
    """From 10.0.0.7, inside the trusted 10.0.0.0/24, X-Forwarded-For names the client: 31 guesses from 31 clients
    are 31 first attempts of their addresses (no 429), and the proxy's own address counts none."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuthThrottle
    from footprint_api.services import throttle

    with _served(["10.0.0.0/24"], "10.0.0.7") as client:
        statuses = _guesses(client, throttle.ADDRESS_LIMIT + 1, "198.18.0.{n}")
    assert statuses == [401] * (throttle.ADDRESS_LIMIT + 1)
    with session_scope() as session:
        assert session.get(AuthThrottle, "address:10.0.0.7") is None
        assert [session.get(AuthThrottle, f"address:198.18.0.{n}").failures for n in range(31)] == [1] * 31


@pytest.mark.parametrize("role", ["pact_recipient", "pact_supplier"])
def test_a_pact_role_is_a_machine_clients_never_a_persons(world, role):
    """A customer's system reading over PACT and a supplier's system telling over PACT are machine clients (client
    credentials); the organisation's administrator may not give either role to a person."""
    acme = world.organisations["acme"]
    answer = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{acme}/users",
        json={"email": f"{role}@test.example", "name": "A system", "password": "a long enough password", "role": role},
    )
    assert answer.status_code == 403 and "machine client" in answer.json()["detail"]
