"""Every parse of a person's text is bounded and answers 4xx naming the field (issue 19, items 6 and 7).

Schemathesis found units pint cannot tokenise (`(`, `t)`, `t (`) answered 500, and `limit=²` on the PACT list (which
`str.isdigit` takes and `int` refuses); a production of 1e-308 t was stored and its calculation failed with
StopIteration; a unit `t\\` was taken for tonnes.
"""

import base64
import copy

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from pcr_rules.inventory import MAX_AMOUNT, MIN_PRODUCTION, Inventory
from pcr_rules.units import MAX_UNIT_LENGTH, UnitProblem, conversion_factor, parse_unit
from tests.conftest import load_example
from tests.labelling import unique_serials
from tests.test_web_inventory import cement_form, error_of, stored
from tests.web_client import Browser

# text pint cannot read (tokeniser errors, a line continuation, division by zero), powers it would compute for
# minutes, and a unit longer than any unit
NOT_UNITS = ["(", "t)", "t (", "t\\", "kg/0", "kg ** (1/0)", "m**9**9**9", "2**9**9**2", "kg**99", "t" * 65, "t,"]


@pytest.mark.parametrize("text", NOT_UNITS)
def test_a_text_that_is_no_unit_is_a_unit_problem(text):
    with pytest.raises(UnitProblem) as raised:
        parse_unit(text)
    assert raised.value.code == "validation.unit_unknown"
    assert len(raised.value.params["unit"]) <= MAX_UNIT_LENGTH + 1  # a long text is shown cut, with "…"


@pytest.mark.parametrize(
    ("unit", "in_kg"),
    [("t", 1000), ("Mt", 1e9), ("kg", 1), ("(t)", 1000), ("t*km/km", 1000), ("kg**2/kg", 1), ("g^1", 0.001)],
)
def test_units_as_people_write_them_still_convert(unit, in_kg):
    """1 t = 1000 kg; 1 Mt = 10^9 kg; t·km/km = t; kg²/kg = kg; 1 g = 0.001 kg."""
    assert conversion_factor(unit, "kg") == pytest.approx(in_kg, rel=1e-12)


def _submit(world, data: dict):
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    return product, world.submit("acme-engineer", product["id"], data)


@pytest.mark.parametrize("text", ["(", "t)", "t (", "t\\", "m**9**9**9"])
def test_a_production_unit_that_is_no_unit_is_422_naming_it(world, text):
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["production"]["unit"] = text
    product, response = _submit(world, data)
    assert response.status_code == 422, response.text
    assert "production.unit" in [error["field"] for error in response.json()["errors"]]
    assert world.call("acme-engineer", "GET", f"/api/v1/inventories?product_id={product['id']}").json() == []


@pytest.mark.parametrize("text", ["(", "t)", "t (", "t\\", "m**9**9**9"])
def test_an_item_unit_that_is_no_unit_is_422_naming_it(world, text):
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0]["unit"] = text
    _product, response = _submit(world, data)
    assert response.status_code == 422, response.text
    assert "items[0].unit" in [error["field"] for error in response.json()["errors"]]


def test_a_unit_longer_than_any_unit_is_refused_by_the_schema(world):
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"][0]["unit"] = "t" * (MAX_UNIT_LENGTH + 1)
    _product, response = _submit(world, data)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["inventory.items[0].unit"]


@pytest.mark.parametrize("amount", [1e-308, 5e-324, 1e-7])
def test_a_production_below_the_minimum_is_422_and_nothing_is_stored(world, amount):
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["production"]["amount"] = amount
    product, response = _submit(world, data)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["inventory.production.amount"]
    assert world.call("acme-engineer", "GET", f"/api/v1/inventories?product_id={product['id']}").json() == []


def test_the_minimum_production_itself_is_a_number_the_checks_can_divide_by():
    """1e-6 t of cement with the example's 1,640,000 t of clinker is 1.64e12 t of clinker per t: finite, so the PCR's
    plausible range (0.3–0.98 t/t) refuses it rather than an infinity passing every range."""
    from pcr_rules import default_registry
    from pcr_rules.validation import problems

    data = load_example("cement-guizhou-2023.json")
    data["production"]["amount"] = MIN_PRODUCTION
    inventory = Inventory.model_validate(data)
    found = {(p.loc, p.code) for p in problems(inventory, default_registry().get("PCR-CN-CEMENT", "1.0.0"))}
    assert ("items[0].amount", "validation.implausible") in found


def test_zero_production_is_still_the_pcr_checks_greater_than_zero():
    from pcr_rules import default_registry
    from pcr_rules.validation import problems

    data = load_example("cement-guizhou-2023.json")
    data["production"]["amount"] = 0
    found = problems(Inventory.model_validate(data), default_registry().get("PCR-CN-CEMENT", "1.0.0"))
    assert ("production.amount", "validation.production_not_positive") in {(p.loc, p.code) for p in found}


@pytest.mark.parametrize("loc", [("production", "amount"), ("items", 0, "amount")])
def test_an_amount_above_the_largest_is_refused_by_the_schema(loc):
    data = copy.deepcopy(load_example("cement-guizhou-2023.json"))
    target = data["production"] if loc[0] == "production" else data["items"][0]
    target["amount"] = MAX_AMOUNT * 10
    with pytest.raises(ValidationError) as raised:
        Inventory.model_validate(data)
    [error] = raised.value.errors()
    assert (error["loc"], error["type"], error["ctx"]) == (loc, "less_than_equal", {"le": 1e15})


def test_a_tiny_production_on_the_chinese_form_is_named_at_its_input(world):
    """The form says, in Chinese, the smallest production it takes (1e-06 of the unit)."""
    from footprint_api.app import create_app

    facility = world.call(
        "acme-engineer", "POST", "/api/v1/facilities", json={"name": "窑线 3", "province": "Guizhou"}
    ).json()
    product = world.product("acme-engineer", "PCR-CN-CEMENT")
    engineer = Browser(create_app(), "acme-engineer", lang="zh-CN")
    fields = cement_form(product["id"], facility["id"], **{"production.amount": "1e-308"})
    response = engineer.post_form(f"/app/inventories/new?product={product['id']}", "/app/inventories", fields)
    assert response.status_code == 422
    assert error_of(response.text, "production.amount") == "不能小于 1e-06。"
    assert stored(world, product["id"]) == []


# --- the PACT list's query -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pact(world):
    """The PACT API as a recipient sees it behind TLS (the test client's scheme is https)."""
    from footprint_api.app import create_app

    created = world.call(
        "acme-admin",
        "POST",
        f"/api/v1/organisations/{world.organisations['acme']}/clients",
        json={"name": "bounds ERP", "role": "pact_recipient"},
    ).json()
    client = TestClient(create_app(), base_url="https://testserver")
    basic = base64.b64encode(f"{created['client_id']}:{created['client_secret']}".encode()).decode()
    token = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert token.status_code == 200, token.text
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


@pytest.mark.parametrize(
    "query",
    [
        "limit=²",
        "offset=²",
        "limit=①",
        "limit=٣",
        "limit=-1",
        "limit=0",
        "limit=1234567890",
        "offset= 1",
        "limit=1e3",
        "validOn=0001-01-01T00:00:00%2B01:00",
        "validOn=9999-12-31T23:59:59-01:00",
        "validOn=2023-02-30T00:00:00Z",
        "validAfter=20230101",
        "validBefore=２０２３-01-01T00:00:00Z",
        "geography=" + "CN" * 101,
        "&".join(["status=Active"] * 21),
    ],
)
def test_a_query_value_that_is_not_one_is_400_bad_request(pact, query):
    response = pact.get(f"/3/footprints?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest"


@pytest.mark.parametrize(
    "query", ["limit=1", "offset=0", "limit=1000&offset=5", "validOn=2023-06-01t00:00:00z", "status=Active"]
)
def test_query_values_as_pact_writes_them_are_taken(pact, query):
    assert pact.get(f"/3/footprints?{query}").status_code == 200


def test_the_list_declares_its_query_for_clients_and_fuzzers(pact):
    operation = pact.get("/openapi.json").json()["paths"]["/3/footprints"]["get"]
    declared = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
    assert declared["limit"] == {"type": "integer", "minimum": 1}
    assert {"offset", "productId", "validOn", "status"} <= declared.keys()
