"""The outbound-request policy: a URL a user gives never makes the service connect to its own network."""

import pytest

from footprint_api.infra import outbound


@pytest.fixture
def policy(monkeypatch):
    from footprint_api.core.settings import get_settings

    def with_allowed(*networks: str) -> None:
        monkeypatch.setenv("PCF_OUTBOUND_ALLOWED_NETWORKS", str(list(networks)).replace("'", '"'))
        get_settings.cache_clear()

    with_allowed()
    yield with_allowed
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:5432",
        "https://localhost:6379",
        "https://10.0.0.7",
        "https://192.168.1.1/3",
        "https://172.16.5.4",
        "https://169.254.169.254/latest",
        "https://[::1]:8443",
        "https://[::ffff:127.0.0.1]",
        "https://0.0.0.0",
        "https://100.64.0.1",
        "https://224.0.0.1",
        "http://93.184.216.34",
        "https://user:pw@93.184.216.34",
        "https://no-such-host.invalid",
    ],
)
def test_urls_into_the_services_own_network_are_refused(policy, url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url)


def test_a_public_address_passes_and_an_allowed_network_is_allowed(policy):
    assert outbound.check_url("https://93.184.216.34/3") == "https://93.184.216.34/3"
    policy("127.0.0.0/8")
    assert outbound.check_url("https://127.0.0.1:8443") == "https://127.0.0.1:8443"


def test_the_connection_itself_is_checked_whatever_the_url_check_said(policy):
    """A name that resolved to a public address at registration may point to loopback later (DNS rebinding): the
    client refuses the connection to a loopback address even when nobody checked the URL first."""
    import httpx

    with outbound.client() as http, pytest.raises(httpx.ConnectError, match="outbound policy"):
        http.get("https://localhost:9/")


def test_registering_a_private_endpoint_is_refused_naming_the_field(world, policy):
    client = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "customer ERP", "role": "pact_recipient"},
    ).json()
    for url in ("https://127.0.0.1:5432", "https://localhost:6379", "https://10.1.2.3"):
        response = world.call(
            "acme-admin",
            "PUT",
            f"/api/v1/pact-recipients/{client['client_id']}/endpoint",
            json={"base_url": url, "client_id": "x", "client_secret": "y"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "base_url"
        assert "Connection" not in response.text  # no connection attempt, no connection detail


def test_a_failed_delivery_tells_nothing_about_the_connection(policy):
    import httpx

    from footprint_api.services.pact.events import _delivery_error

    assert (
        _delivery_error(httpx.ConnectError("[Errno 111] Connection refused"))
        == "the recipient's API could not be reached"
    )
    assert _delivery_error(httpx.ReadTimeout("timed out")) == "the recipient's API could not be reached"
