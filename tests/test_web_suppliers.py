"""The supplier pages, Chinese first: connections registered, changed and deactivated by an administrator (a member
may not), footprints pulled through the form from a supplier's PACT API (a small one served here over HTTPS) or
uploaded as a file, each refusal at its field in the reader's language, a page per received footprint with the
document to download; another organisation gets 404 on every page of it. In Chromium, at phone and desktop width,
the pages pass axe's accessibility checks and load nothing from another host."""

import base64
import json
import re
import uuid
from html import unescape
from typing import Annotated

import pytest

from tests.browser import assert_accessible, assert_self_contained, browser, screenshot, serving, sign_in, visit  # noqa: F401
from tests.test_chinese_pages import english_phrases, visible_text
from tests.test_pact import SPEC, certificate  # noqa: F401 - the TLS certificate of the supplier's API (a fixture)
from tests.test_pact_suppliers import buyer_policy  # noqa: F401 - the buyer allows 127.0.0.1 and trusts the test CA
from tests.tls import served_over_tls
from tests.web_client import Browser

CLIENT_ID, CLIENT_SECRET = "buyer-at-kiln", "issued by the kiln"
PF_ID = str(uuid.uuid4())
# the supplier's data as it would type it (a Chinese kiln): product data, shown as entered
COMPANY, PRODUCT = "黔北熟料有限公司", "P·I 硅酸盐水泥熟料"


def _kiln_footprint() -> dict:
    """The spec's example 1 as a kiln's clinker: 850 kg CO2e per 1000 kilogram, verified by a certification body,
    primaryDataShare 80 %."""
    document = json.loads((SPEC / "examples" / "example-1.json").read_text())
    document |= {"id": PF_ID, "companyName": COMPANY, "productNameCompany": PRODUCT}
    document["productIds"] = ["urn:gtin:06901234567892"]
    document["pcf"] |= {
        "declaredUnitAmount": "1000",
        "productMassPerDeclaredUnit": "1000",
        "pcfExcludingBiogenicUptake": "850",
        "pcfIncludingBiogenicUptake": "850",
        "primaryDataShare": "80",
        "verification": {"coverage": "product level", "providerName": "贵州认证中心", "standardName": "ISO 14067:2018"},
    }
    return document


@pytest.fixture(scope="module")
def kiln(certificate):
    """The kiln's PACT API over HTTPS: a token for the buyer's credentials only, its one footprint by id or by
    product."""
    from fastapi import FastAPI, Header, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    good = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    @app.post("/auth/token")
    def token(authorization: Annotated[str, Header()] = ""):
        if authorization != good:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return {"access_token": "kiln-token", "token_type": "bearer"}

    @app.get("/3/footprints/{pf_id}")
    def footprint(pf_id: str):
        if pf_id != PF_ID:
            return JSONResponse({"code": "NotFound", "message": "no such footprint"}, status_code=404)
        return {"data": _kiln_footprint()}

    @app.get("/3/footprints")
    def footprints(request: Request):
        wanted = request.query_params.get("productId", "").lower()
        return {"data": [_kiln_footprint()] if wanted in ("urn:gtin:06901234567892", "urn:gtin:6901234567892") else []}

    with served_over_tls(app, certificate) as base:
        yield base


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def admin(app):
    return Browser(app, "acme-admin", lang="zh-CN")


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer", lang="zh-CN")


def _chinese(html: str, *data: str) -> None:
    """No English sentence on the page, outside the supplier's own data (names, ids)."""
    assert english_phrases(visible_text(html), sorted(data, key=len, reverse=True)) == []


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'id="sup-{name}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error at {name}"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1)))


@pytest.fixture(scope="module")
def registered(admin, kiln, buyer_policy) -> str:
    """The kiln's connection, registered by the administrator through the form; returns its id."""
    response = admin.post_form(
        "/app/suppliers/connections/new",
        "/app/suppliers/connections",
        {"name": "黔北熟料", "base_url": kiln, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/app/suppliers?done=registered")
    page = admin.get(response.headers["location"]).text
    found = re.search(r'data-connection="([0-9a-f-]{36})"', page)
    assert found and "已登记供应商连接“黔北熟料”" in page
    return found.group(1)


@pytest.fixture(scope="module")
def received(engineer, registered) -> str:
    """The kiln's footprint pulled (again: the same footprint stays one row); returns its page's address."""
    engineer.post_form(
        f"/app/suppliers/connections/{registered}/pull",
        f"/app/suppliers/connections/{registered}/pull",
        {"pf_id": PF_ID},
    )
    overview = engineer.get("/app/suppliers").text
    return re.search(
        rf'<tr data-footprint="{PF_ID}".*?href="(/app/suppliers/footprints/[0-9a-f-]+)"', overview, re.S
    ).group(1)


def test_the_page_reads_in_chinese_before_anything_is_received(world, engineer):
    page = engineer.get("/app/suppliers")
    assert page.status_code == 200
    assert "尚未登记供应商连接" in page.text and "尚未收到供应商碳足迹" in page.text
    assert 'href="/app/suppliers/connections/new"' not in page.text  # a member registers nothing
    _chinese(page.text)


def test_only_an_administrator_opens_the_connection_forms(engineer, registered):
    assert engineer.get("/app/suppliers/connections/new").status_code == 403
    assert engineer.get(f"/app/suppliers/connections/{registered}").status_code == 403


def test_a_url_outside_the_policy_is_refused_at_its_field_in_chinese(admin, buyer_policy):
    response = admin.post_form(
        "/app/suppliers/connections/new",
        "/app/suppliers/connections",
        {"name": "内网供应商", "base_url": "https://10.0.0.8", "client_id": "x", "client_secret": "never shown"},
    )
    assert response.status_code == 422
    assert "出站访问策略不允许" in _field_error(response.text, "base_url")
    assert "never shown" not in response.text  # a secret is never sent back to the page
    assert 'value="内网供应商"' in response.text
    _chinese(response.text)
    assert "内网供应商" not in admin.get("/app/suppliers").text  # nothing kept


def test_a_footprint_pulled_through_the_form_is_listed_verified_with_its_validity(engineer, registered):
    """850 kg CO2e per 1000 kilogram, verified (the kiln's certification body), primaryDataShare 80 % -> 80 %;
    validity 2024-12-31T00:00Z .. 2027-12-31T00:00Z (end exclusive) in Beijing days: 2024-12-31 to 2027-12-31."""
    form = engineer.get(f"/app/suppliers/connections/{registered}/pull")
    assert form.status_code == 200
    _chinese(form.text)
    response = engineer.post_form(
        f"/app/suppliers/connections/{registered}/pull",
        f"/app/suppliers/connections/{registered}/pull",
        {"pf_id": PF_ID},
    )
    assert response.status_code == 303, response.text
    overview = engineer.get(response.headers["location"]).text
    assert "已从“黔北熟料”收到 1 条碳足迹" in overview
    row = re.search(rf'<tr data-footprint="{PF_ID}".*?</tr>', overview, re.S).group(0)
    assert PRODUCT in row and "850 kg CO₂e" in row and "每 1,000 千克" in row and "已核验" in row
    assert "2024-12-31" in row and "2027-12-31" in row and "有效" in row and "未被引用" in row
    _chinese(overview, COMPANY, PRODUCT)
    again = engineer.post_form(
        f"/app/suppliers/connections/{registered}/pull",
        f"/app/suppliers/connections/{registered}/pull",
        {"product_id": "6901234567892"},
    )
    assert "没有变化" in engineer.get(again.headers["location"]).text  # the same footprint: nothing new


def test_the_footprint_page_shows_the_values_as_received_and_the_document(engineer, received):
    page = engineer.get(received)
    assert page.status_code == 200
    text = unescape(page.text)
    assert 'data-value="850.0"' in text and "80 %" in text.replace("\u00a0", " ")
    assert "贵州认证中心" in text and "产品层面" in text and "urn:gtin:06901234567892" in text
    assert "技术代表性 1.5" in text and "从接口拉取 · 黔北熟料" in text
    _chinese(page.text, COMPANY, PRODUCT, "贵州认证中心")
    document = engineer.get(f"{received}/document.json")
    assert document.status_code == 200 and json.loads(document.content) == _kiln_footprint()
    assert "attachment" in document.headers["content-disposition"]


def test_what_the_supplier_refuses_is_said_at_the_field_or_above_the_form(admin, engineer, registered, kiln):
    missing = engineer.post_form(
        f"/app/suppliers/connections/{registered}/pull",
        f"/app/suppliers/connections/{registered}/pull",
        {"pf_id": str(uuid.uuid4())},
    )
    assert missing.status_code == 422
    assert _field_error(missing.text, "pf_id") == "供应商没有向您提供这条碳足迹（供应商接口应答 HTTP 404）"
    wrong = admin.post_form(
        "/app/suppliers/connections/new",
        "/app/suppliers/connections",
        {"name": "黔北熟料（旧密钥）", "base_url": kiln, "client_id": CLIENT_ID, "client_secret": "an old secret"},
    )
    wrong_id = re.search(
        r'data-connection="([0-9a-f-]{36})"[^>]*>\s*<td[^>]*>黔北熟料（旧密钥）',
        admin.get(wrong.headers["location"]).text,
    ).group(1)
    refused = engineer.post_form(
        f"/app/suppliers/connections/{wrong_id}/pull", f"/app/suppliers/connections/{wrong_id}/pull", {"pf_id": PF_ID}
    )
    assert refused.status_code == 502
    assert "供应商的 PACT 接口拒绝了客户端凭据（HTTP 401），请核对客户端编号和密钥" in refused.text
    _chinese(refused.text)
    listed = admin.get("/app/suppliers").text
    assert "最近一次失败：供应商的 PACT 接口拒绝了客户端凭据（HTTP 401）" in listed  # in the reader's language
    _chinese(listed, COMPANY, PRODUCT)


def test_an_uploaded_file_is_checked_and_listed_unverified(engineer):
    broken = _kiln_footprint() | {"id": str(uuid.uuid4())}
    broken["pcf"] = broken["pcf"] | {"declaredUnitAmount": 1000}
    refused = engineer.post_form(
        "/app/suppliers/upload", "/app/suppliers/upload", files={"file": ("kiln.json", json.dumps(broken).encode())}
    )
    assert refused.status_code == 422
    assert _field_error(refused.text, "file").startswith("pcf.declaredUnitAmount：应为字符串")
    _chinese(refused.text)
    plain = _kiln_footprint() | {"id": str(uuid.uuid4()), "productNameCompany": "P·II 熟料（上传）"}
    plain["pcf"] = {k: v for k, v in plain["pcf"].items() if k != "verification"}
    done = engineer.post_form(
        "/app/suppliers/upload", "/app/suppliers/upload", files={"file": ("kiln.json", json.dumps(plain).encode())}
    )
    assert done.status_code == 303, done.text
    overview = engineer.get(done.headers["location"]).text
    row = re.search(rf'<tr data-footprint="{plain["id"]}".*?</tr>', overview, re.S).group(0)
    assert "未经核验" in row and "上传文件" in row
    assert "已上传碳足迹“P·II 熟料（上传）”" in overview


def test_the_administrator_changes_and_deactivates_a_connection(admin, world, kiln, buyer_policy):
    created = admin.post_form(
        "/app/suppliers/connections/new",
        "/app/suppliers/connections",
        {"name": "备用熟料厂", "base_url": kiln, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    connection_id = re.search(
        r'data-connection="([0-9a-f-]{36})"[^>]*>\s*<td[^>]*>备用熟料厂<', admin.get(created.headers["location"]).text
    ).group(1)
    edit = admin.get(f"/app/suppliers/connections/{connection_id}")
    assert edit.status_code == 200 and CLIENT_SECRET not in edit.text and "留空则保留现有密钥" in edit.text
    _chinese(edit.text)
    changed = admin.post_form(
        f"/app/suppliers/connections/{connection_id}",
        f"/app/suppliers/connections/{connection_id}",
        {"name": "备用熟料厂（二号窑）", "base_url": kiln, "client_id": CLIENT_ID, "client_secret": ""},
    )
    assert changed.status_code == 303 and "已保存供应商连接" in admin.get(changed.headers["location"]).text
    off = admin.post_form("/app/suppliers", f"/app/suppliers/connections/{connection_id}/deactivate")
    assert off.status_code == 303
    row = re.search(rf'<tr data-connection="{connection_id}".*?</tr>', admin.get("/app/suppliers").text, re.S).group(0)
    assert "已停用" in row and "拉取碳足迹" not in row
    trail = world.call("acme-admin", "GET", "/api/v1/audit", params={"limit": 1000}).json()
    actions = [entry["action"] for entry in trail if entry["object_id"] == connection_id]
    assert sorted(actions) == sorted(
        ["supplier.connection_registered", "supplier.connection_updated", "supplier.connection_deactivated"]
    )


def test_another_organisation_gets_404_on_every_page_of_it(app, received, registered):
    footprint = received
    rival = Browser(app, "rival-admin", lang="zh-CN")
    for url in (
        footprint,
        f"{footprint}/document.json",
        f"/app/suppliers/connections/{registered}",
        f"/app/suppliers/connections/{registered}/pull",
    ):
        assert rival.get(url).status_code == 404, url
    pulled = rival.post_form("/app/suppliers", f"/app/suppliers/connections/{registered}/pull", {"pf_id": PF_ID})
    assert pulled.status_code == 404
    assert PRODUCT not in rival.get("/app/suppliers").text


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_pages_in_chromium_are_accessible_and_self_contained(app, visit, width, registered, received):
    with serving(app) as served:
        tab = visit(width, "zh")
        sign_in(tab, served, "acme-admin")
        for path, name in (
            ("/app/suppliers", "overview"),
            (received, "footprint"),
            (f"/app/suppliers/connections/{registered}/pull", "pull"),
            ("/app/suppliers/connections/new", "connection"),
            ("/app/suppliers/upload", "upload"),
        ):
            tab.page.goto(f"{served}{path}")
            assert_accessible(tab.page)
            overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
            screenshot(tab, f"suppliers-{name}-{width}-zh")
        assert_self_contained(tab, served)
