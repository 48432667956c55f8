"""Organisations as Chinese practice registers them: the unified social credit code (统一社会信用代码, GB 32100-2015)
with its check character, an address and a contact; created and changed by the platform admin, the address and
contact also by the organisation's own admins; a code taken already is a 409 naming the field, in the JSON API and
on the pages, in the reader's language."""

import random
import re
import uuid

import pytest

from footprint_api.core import uscc
from tests.web_client import Browser

# GB 32100-2015 table 1: the 31 characters and their values
VALUES = dict(zip("0123456789ABCDEFGHJKLMNPQRTUWXY", range(31), strict=True))
KNOWN = "91350100M000100Y43"  # a code published on a business licence (Fuzhou)


def fresh_code() -> str:
    """A well-formed code no other test of the module uses: a division code of Guiyang (520100), a random
    organisation code, its check character."""
    first_17 = "91520100" + "".join(random.choice(uscc.CHARACTERS) for _ in range(9))
    return first_17 + uscc.check_character(first_17)


# --- the code itself (footprint_api.core.uscc) ---------------------------------------------------------------------


def test_the_check_character_of_a_published_code_is_computed_from_the_weights():
    """91350100M000100Y4 | 3: values 9 1 3 5 0 1 0 0 21 0 0 0 1 0 0 30 4 (M = 21, Y = 30), weights 1 3 9 27 19 26
    16 17 20 29 25 13 8 24 10 30 28:
    9×1 + 1×3 + 3×9 + 5×27 + 1×26 + 21×20 + 1×8 + 30×30 + 4×28 = 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640;
    1640 mod 31 = 1640 − 52×31 = 28; 31 − 28 = 3: the check character is 3."""
    assert uscc.check_character(KNOWN[:17]) == "3"
    assert uscc.check(KNOWN) is None


def test_a_check_character_can_be_a_letter():
    """91520100000000000 | J: 9×1 + 1×3 + 5×9 + 2×27 + 1×26 = 9 + 3 + 45 + 54 + 26 = 137; 137 mod 31 = 137 − 124 = 13;
    31 − 13 = 18, the value of J."""
    assert uscc.check_character("91520100000000000") == "J"
    assert uscc.check("91520100000000000J") is None


def test_a_sum_divisible_by_31_gives_the_check_character_0():
    """91520100400000000 | 0: 137 (as above) + 4×20 = 217 = 7×31, so 217 mod 31 = 0 and (31 − 0) mod 31 = 0."""
    assert uscc.check_character("91520100400000000") == "0"
    assert uscc.check("915201004000000000") is None


def test_every_single_mistyped_character_is_refused():
    """Each of the 18 positions replaced by each of the 30 other characters of the set: 540 codes, none valid (a
    weight is never 0 mod 31, and 31 is prime, so a changed value always changes the sum mod 31)."""
    refused = []
    for position in range(18):
        for character in uscc.CHARACTERS:
            if character != KNOWN[position]:
                refused.append(uscc.check(KNOWN[:position] + character + KNOWN[position + 1 :]))
    assert len(refused) == 18 * 30 and all(problem is not None for problem in refused)
    assert {problem.code for problem in refused} == {"uscc.check", "uscc.division"}


def test_every_swap_of_two_different_neighbours_is_refused():
    """17 neighbouring pairs, of which 4 are two zeros (positions 7–8, 10–11, 11–12, 14–15): 13 swaps, none valid
    (within the first 17 the next weight is 3w, so a swap changes the sum by 2w(a − b), never 0 mod 31)."""
    swapped = [KNOWN[:i] + KNOWN[i + 1] + KNOWN[i] + KNOWN[i + 2 :] for i in range(17) if KNOWN[i] != KNOWN[i + 1]]
    assert len(swapped) == 13 and all(uscc.check(code) is not None for code in swapped)


@pytest.mark.parametrize(
    "code, problem, params",
    [
        ("91350100M000100Y4", "uscc.length", {"length": 17}),
        ("91350100M000100Y433", "uscc.length", {"length": 19}),
        ("91350100M0001O0Y43", "uscc.character", {"position": 14, "character": "O"}),
        ("9I350100M000100Y43", "uscc.character", {"position": 2, "character": "I"}),
        ("913501A0M000100Y43", "uscc.division", {}),
        ("91350100M000100Y44", "uscc.check", {}),
    ],
)
def test_a_malformed_code_is_refused_with_its_reason(code, problem, params):
    found = uscc.check(code)
    assert found is not None and found.code == problem and found.params == params


def test_a_code_typed_on_a_chinese_keyboard_is_normalised():
    assert uscc.normalised("９１３５ ０１００－m000100y43") == KNOWN


# --- the JSON API ---------------------------------------------------------------------------------------------------


def create(world, user="root", **fields):
    body = {"name": f"Org {uuid.uuid4().hex[:6]}", "kind": "manufacturer", **fields}
    return world.call(user, "POST", "/api/v1/organisations", json=body)


def test_the_platform_admin_registers_an_organisation_with_its_code_address_and_contact(world):
    code = fresh_code()
    response = create(
        world,
        uscc=" " + code.lower() + " ",
        address="贵州省贵阳市观山湖区长岭北路 1 号",
        contact_name="王工",
        contact_phone="０８５１-８８８８６６６６",
        contact_email="wang@plant.example",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["uscc"] == code and body["contact_phone"] == "0851-88886666"
    assert body["address"] == "贵州省贵阳市观山湖区长岭北路 1 号" and body["contact_name"] == "王工"
    listed = {o["id"]: o for o in world.call("root", "GET", "/api/v1/organisations").json()}
    assert listed[body["id"]]["uscc"] == code
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    created = next(e for e in trail if e["object_id"] == body["id"] and e["action"] == "organisation.created")
    assert created["after"]["uscc"] == code


def test_a_code_another_organisation_has_is_a_409_naming_the_field(world):
    code = fresh_code()
    assert create(world, uscc=code).status_code == 201
    again = create(world, uscc=code)
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {
            "field": "uscc",
            "reason": f"an organisation with the unified social credit code {code} exists",
            "code": "adm.organisations.uscc_taken",
        }
    ]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"uscc": "91350100M000100Y44"}, "uscc"),
        ({"uscc": "91350100M000100Y4"}, "uscc"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"address": "x" * 301}, "address"),
    ],
)
def test_bad_registration_data_is_a_422_naming_the_field(world, fields, field):
    response = create(world, **fields)
    assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == [field]


def test_the_platform_admin_changes_an_organisations_code_and_contact_and_it_is_audited(world):
    made = create(world, uscc=fresh_code()).json()
    code = fresh_code()
    response = world.call(
        "root",
        "PATCH",
        f"/api/v1/organisations/{made['id']}",
        json={"uscc": code, "contact_name": "李经理", "address": None},
    )
    assert response.status_code == 200, response.text
    assert response.json()["uscc"] == code and response.json()["contact_name"] == "李经理"
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    changed = [e for e in trail if e["object_id"] == made["id"] and e["action"] == "organisation.updated"]
    assert len(changed) == 1
    assert changed[0]["before"] == {"uscc": made["uscc"], "contact_name": None}
    assert changed[0]["after"] == {"uscc": code, "contact_name": "李经理"}  # the address was empty already


def test_changing_nothing_records_nothing(world):
    made = create(world, contact_name="赵").json()
    response = world.call("root", "PATCH", f"/api/v1/organisations/{made['id']}", json={"contact_name": "赵"})
    assert response.status_code == 200
    trail = world.call("root", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    assert not [e for e in trail if e["object_id"] == made["id"] and e["action"] == "organisation.updated"]


def test_taking_another_organisations_code_by_a_change_is_a_409(world):
    taken = create(world, uscc=fresh_code()).json()["uscc"]
    other = create(world).json()
    response = world.call("root", "PATCH", f"/api/v1/organisations/{other['id']}", json={"uscc": taken})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "uscc"


def test_an_organisations_admin_changes_its_address_and_contact_only(world):
    acme = world.organisations["acme"]
    response = world.call(
        "acme-admin",
        "PATCH",
        f"/api/v1/organisations/{acme}",
        json={"address": "贵州省安顺市", "contact_phone": "13800138000"},
    )
    assert response.status_code == 200 and response.json()["address"] == "贵州省安顺市"
    for field, value in (("uscc", fresh_code()), ("name", "Acme renamed")):
        refused = world.call("acme-admin", "PATCH", f"/api/v1/organisations/{acme}", json={field: value})
        assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == field
    organisation = next(o for o in world.call("root", "GET", "/api/v1/organisations").json() if o["id"] == str(acme))
    assert organisation["name"] != "Acme renamed" and organisation["uscc"] is None


def test_nobody_else_changes_an_organisation(world):
    acme = world.organisations["acme"]
    for intruder, status in (("rival-admin", 404), ("cb-admin", 404), ("acme-engineer", 403)):
        response = world.call(intruder, "PATCH", f"/api/v1/organisations/{acme}", json={"address": "stolen"})
        assert response.status_code == status, intruder
    assert world.call("root", "PATCH", f"/api/v1/organisations/{uuid.uuid4()}", json={}).status_code == 404


def test_the_kind_never_changes_and_the_name_is_not_cleared(world):
    made = create(world).json()
    kind = world.call("root", "PATCH", f"/api/v1/organisations/{made['id']}", json={"kind": "platform"})
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    name = world.call("root", "PATCH", f"/api/v1/organisations/{made['id']}", json={"name": None})
    assert name.status_code == 422 and name.json()["errors"][0]["field"] == "name"


def test_the_certification_bodies_anyone_may_apply_to_are_listed_without_their_contact(world):
    cb = world.organisations["cb"]
    world.call("root", "PATCH", f"/api/v1/organisations/{cb}", json={"contact_phone": "010-12345678"})
    listed = world.call("acme-engineer", "GET", "/api/v1/certification-bodies").json()
    body = next(o for o in listed if o["id"] == str(cb))
    assert set(body) == {"id", "name", "kind", "uscc"}


# --- the pages ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root_zh(world):
    return Browser(world.client.app, "root", lang="zh-CN")


def form(**fields) -> dict:
    return {"name": f"页面机构 {uuid.uuid4().hex[:6]}", "kind": "manufacturer", **fields}


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"uscc": "91350100M000100Y44"}, "uscc", "校验码（第 18 位）与前 17 位不符，请核对是否有字符输入错误。"),
        ({"uscc": "91350100M000100Y4"}, "uscc", "统一社会信用代码应为 18 位（现为 17 位）。"),
        (
            {"uscc": "91350100M0001O0Y43"},
            "uscc",
            "第 14 位“O”不是统一社会信用代码使用的字符（数字及除 I、O、Z、S、V 以外的大写字母）。",
        ),
        ({"contact_phone": "请致电"}, "contact_phone", "请输入电话号码，例如 0851-88886666 或 13800138000。"),
        ({"contact_email": "wang"}, "contact_email", "不是有效的电子邮箱地址。"),
    ],
)
def test_a_bad_field_of_the_create_form_is_named_in_chinese_and_nothing_is_stored(root_zh, fields, field, message):
    data = form(**fields)
    response = root_zh.post_form("/app/admin/organisations", "/app/admin/organisations", data)
    assert response.status_code == 422
    assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', response.text), response.text
    assert f'id="e-{field}">{message}<' in response.text
    assert data["name"] not in root_zh.get("/app/admin/organisations").text


def test_the_create_form_registers_the_code_and_the_list_shows_it(root_zh):
    code = fresh_code()
    data = form(uscc=code, address="贵州省遵义市", contact_name="周工", contact_phone="0851-1234567")
    response = root_zh.post_form("/app/admin/organisations", "/app/admin/organisations", data)
    assert response.status_code == 303
    listed = root_zh.get(response.headers["location"])
    assert "机构已创建。" in listed.text
    row = re.search(rf'<tr data-organisation="[^"]+">\s*<td[^>]*>{data["name"]}</td>.*?</tr>', listed.text, re.S)
    assert row and code in row.group(0) and "贵州省遵义市" in row.group(0) and "0851-1234567" in row.group(0)
    again = root_zh.post_form("/app/admin/organisations", "/app/admin/organisations", form(uscc=code))
    assert again.status_code == 409 and 'id="e-uscc">已有机构使用该统一社会信用代码。<' in again.text


def test_the_platform_admin_edits_an_organisations_code_on_its_page(world, root_zh):
    made = create(world).json()
    url = f"/app/admin/organisations/{made['id']}"
    code = fresh_code()
    values = {"name": made["name"], "uscc": code, "address": "", "contact_name": "", "contact_phone": ""}
    response = root_zh.post_form(url, url, {**values, "contact_email": "ops@org.example"})
    assert response.status_code == 303 and response.headers["location"] == f"{url}?done=organisation_saved"
    page = root_zh.get(response.headers["location"])
    assert "机构信息已保存。" in page.text and f'value="{code}"' in page.text
    cleared = root_zh.post_form(url, url, {**values, "name": "", "contact_email": ""})
    assert cleared.status_code == 422 and 'id="e-name">必填。<' in cleared.text


def test_an_organisations_admin_edits_the_contact_and_sees_the_code_read_only(world):
    admin = Browser(world.client.app, "rival-admin", lang="zh-CN")
    url = f"/app/admin/organisations/{world.organisations['rival']}"
    page = admin.get(url)
    assert page.status_code == 200 and 'id="f-uscc"' not in page.text and 'id="f-name"' not in page.text
    assert "机构名称和统一社会信用代码由平台管理员维护" in page.text
    fields = {"address": "广东省深圳市", "contact_name": "陈", "contact_phone": "", "contact_email": ""}
    response = admin.post_form(url, url, {**fields, "uscc": fresh_code(), "name": "taken over"})
    assert response.status_code == 303  # the fields it may not change are not read from its form
    rival = next(
        o
        for o in world.call("root", "GET", "/api/v1/organisations").json()
        if o["id"] == str(world.organisations["rival"])
    )
    assert rival["address"] == "广东省深圳市" and rival["uscc"] is None and rival["name"] != "taken over"
