"""The sign-in throttle on PostgreSQL, under concurrency: 50 guesses at once, over HTTP, against the stack's uvicorn.

Issue 19, item 3: 50 parallel wrong passwords for one account answered 33 × 401, 12 × 500 and 4 × 429 (46 guesses
checked against a limit of 5), and the right password then got 200. Every attempt is now counted before its password
is checked, in one statement the database serialises (services.throttle): at most the limit is ever checked.

Each test signs in from its own address (X-Forwarded-For, which the stack's uvicorn trusts from 127.0.0.1, the
test's own address), so that the addresses the other stack tests sign in from stay unlocked.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuthThrottle
from footprint_api.services import throttle

pytestmark = pytest.mark.integration

GUESSES = 50
RIGHT = "a long enough password"


def _address() -> str:
    """An address of the documentation range (RFC 3849), new for each test."""
    suffix = uuid.uuid4().hex
    return f"2001:db8:{suffix[:4]}:{suffix[4:8]}::1"


def _person(world) -> str:
    email = f"throttled-{uuid.uuid4().hex[:8]}@test.example"
    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/users",
        json={"email": email, "name": "throttled", "password": RIGHT, "role": "manufacturer_member"},
    )
    assert created.status_code == 201, created.text
    return email


def _at_once(world, emails: list[str], address: str) -> list[httpx.Response]:
    """One wrong password per e-mail address, all sent at the same moment from `address`."""
    start = threading.Barrier(len(emails))

    def guess(n: int) -> httpx.Response:
        with httpx.Client(base_url=str(world.client.base_url), timeout=120) as client:
            start.wait()
            return client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": emails[n], "password": f"guess {n}"},
                headers={"X-Forwarded-For": address},
            )

    with ThreadPoolExecutor(len(emails)) as pool:
        return list(pool.map(guess, range(len(emails))))


def _sign_in(world, email: str, address: str) -> httpx.Response:
    return world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": RIGHT},
        headers={"X-Forwarded-For": address},
    )


def _counted(key: str) -> int:
    with session_scope() as session:
        return session.get(AuthThrottle, key).failures


def test_fifty_concurrent_wrong_passwords_for_one_account_check_at_most_five(stack):
    """50 guesses at once for one account (limit 5): 5 are checked (401), the other 45 or more are refused
    with 429 and Retry-After (at most 15 min), none fails (5 + 45 = 50); all 50 are counted; then even the right password is
    refused while the account is locked."""
    world = stack[0]
    email, address = _person(world), _address()
    responses = _at_once(world, [email] * GUESSES, address)
    statuses = [r.status_code for r in responses]
    assert (statuses.count(401), statuses.count(429)) == (throttle.ACCOUNT_LIMIT, GUESSES - throttle.ACCOUNT_LIMIT)
    for response in responses:
        if response.status_code == 429:
            assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert _counted(throttle.account_key(email)) == GUESSES
    locked = _sign_in(world, email, _address())
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 15 * 60


def test_fifty_concurrent_guesses_from_one_address_check_at_most_thirty(stack):
    """50 guesses at once from one address, each for another account (limit 30 per address): 30 are
    checked, the rest are refused with 429, none fails (30 + 20 = 50); then a real account's right password from that address is
    refused too, while from another address it signs in."""
    world = stack[0]
    email, address = _person(world), _address()
    strangers = [f"stranger-{n}-{uuid.uuid4().hex[:6]}@test.example" for n in range(GUESSES)]
    statuses = [r.status_code for r in _at_once(world, strangers, address)]
    assert (statuses.count(401), statuses.count(429)) == (throttle.ADDRESS_LIMIT, GUESSES - throttle.ADDRESS_LIMIT)
    assert _counted(f"address:{address}") == GUESSES
    refused = _sign_in(world, email, address)
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert _sign_in(world, email, _address()).status_code == 200
