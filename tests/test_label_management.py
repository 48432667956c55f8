"""The certification body's labels: a list to search by number, product or manufacturer, filter by state, sort and
page through, with bounded input; each label on a page of its own with its files named for people, its history,
and its steps (suspend, reinstate, revoke) one form each, a reason required and kept in the audit trail."""

import re

import pytest
from sqlmodel import select

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import AuditEvent
from footprint_api.services import labels as label_service
from tests.labelling import GTIN, calculated_footprint, label_of
from tests.web_client import Browser

PRODUCTS = ("普通硅酸盐水泥 P·O 42.5", "复合硅酸盐水泥 P·C 32.5R", "水泥熟料", "Clinker for export")


def label_named(world, name: str, gtin: str | None = None) -> dict:
    """A label of a product called `name`: a calculated footprint, the product renamed, applied for and issued."""
    footprint = calculated_footprint(world, gtin=gtin)
    renamed = world.call("acme-engineer", "PATCH", f"/api/v1/products/{footprint['product_id']}", json={"name": name})
    assert renamed.status_code == 200, renamed.text
    return label_of(world, footprint["footprint_id"])


@pytest.fixture(scope="module")
def issued(world) -> dict[str, dict]:
    """Four labels of this module's service, by product name; the third has a GTIN."""
    return {name: label_named(world, name, GTIN if i == 2 else None) for i, name in enumerate(PRODUCTS)}


@pytest.fixture(scope="module")
def body(world):
    return Browser(world.client.app, "cb-verifier", lang="zh")


def numbers_on(html: str) -> list[str]:
    """The label numbers of the list's rows, in their order."""
    return re.findall(r'<tr id="label-([^"]+)">', html)


def test_the_list_is_the_certification_bodys_own(world, issued, body):
    assert Browser(world.client.app, "acme-engineer").get("/app/labels").status_code == 403
    other = Browser(world.client.app, "cb2-verifier", lang="zh").get("/app/labels")
    assert other.status_code == 200 and numbers_on(other.text) == []
    page = body.get("/app/labels")
    assert page.status_code == 200 and set(numbers_on(page.text)) == {label["number"] for label in issued.values()}


def test_the_list_carries_no_state_changing_forms(issued, body):
    """Not a page of red buttons: the steps are on each label's own page; the list only searches."""
    page = body.get("/app/labels").text
    posts = re.findall(r'<form method="post" action="([^"]+)"', page)
    assert posts == ["/logout"] and "button danger" not in page and 'class="danger"' not in page
    assert all(f'href="/app/labels/{label["number"]}"' in page for label in issued.values())


def test_a_label_is_found_by_its_number_in_any_spelling_or_in_part(issued, body):
    number = issued[PRODUCTS[1]]["number"]
    for typed in (number, number.lower(), number.replace("-", "").lower(), f"  {number} "):
        assert numbers_on(body.get("/app/labels", params={"q": typed}).text) == [number], typed
    part = number[4:15]  # year and sequence, without the check character: "2026-000002"
    assert numbers_on(body.get("/app/labels", params={"q": part}).text) == [number]


def test_a_label_is_found_by_a_part_of_its_product_or_manufacturers_name(issued, body):
    assert numbers_on(body.get("/app/labels", params={"q": "熟料"}).text) == [issued["水泥熟料"]["number"]]
    assert numbers_on(body.get("/app/labels", params={"q": "clinker"}).text) == [issued["Clinker for export"]["number"]]
    cement = set(numbers_on(body.get("/app/labels", params={"q": "硅酸盐水泥"}).text))
    assert cement == {issued[PRODUCTS[0]]["number"], issued[PRODUCTS[1]]["number"]}
    manufacturer = issued[PRODUCTS[0]]["manufacturer_name"]
    assert len(numbers_on(body.get("/app/labels", params={"q": manufacturer}).text)) == len(PRODUCTS)
    nothing = body.get("/app/labels", params={"q": "100%_off"})  # LIKE's wildcards are searched for as typed
    assert nothing.status_code == 200 and numbers_on(nothing.text) == [] and "没有符合条件的标签。" in nothing.text


def test_control_characters_in_a_search_are_read_as_spaces(issued, body):
    """A control character is never sent to the database as part of a pattern (a NUL never reaches the page:
    infra.limits refuses it in any URL)."""
    page = body.get("/app/labels", params={"q": "熟\x01料\t"})
    assert page.status_code == 200 and numbers_on(page.text) == []
    assert numbers_on(body.get("/app/labels", params={"q": "\x1b熟料\x7f"}).text) == [issued["水泥熟料"]["number"]]
    assert label_service.label_query("\x00熟料").text == "熟料"


def test_the_state_filter_lists_one_state_and_counts_each(world, issued, body):
    suspended = issued["Clinker for export"]["number"]
    world.call("cb-verifier", "POST", f"/api/v1/labels/{suspended}/actions/suspend", json={"comment": "audit due"})
    try:
        page = body.get("/app/labels", params={"state": "suspended"}).text
        assert numbers_on(page) == [suspended]
        assert re.search(r'aria-current="page">已暂停 <span class="count">1</span>', page)
        assert re.search(r">有效 <span class=\"count\">3</span>", page)
        assert re.search(r">全部 <span class=\"count\">4</span>", page)
        assert len(numbers_on(body.get("/app/labels", params={"state": "active"}).text)) == 3
    finally:
        world.call("cb-verifier", "POST", f"/api/v1/labels/{suspended}/actions/reinstate", json={"comment": "done"})


def test_the_list_is_sorted_by_issue_product_expiry_or_number(issued, body):
    by_issue = [label["number"] for label in issued.values()][::-1]  # newest first: issued in PRODUCTS' order
    assert numbers_on(body.get("/app/labels").text) == by_issue
    assert numbers_on(body.get("/app/labels", params={"sort": "number"}).text) == sorted(by_issue)
    by_name = [issued[name]["number"] for name in sorted(PRODUCTS)]
    assert numbers_on(body.get("/app/labels", params={"sort": "product"}).text) == by_name
    assert numbers_on(body.get("/app/labels", params={"sort": "expires"}).text) == sorted(by_issue)


def test_the_list_is_paged_and_its_links_keep_the_search(issued, body, monkeypatch):
    """With 2 labels a page: 4 labels are 2 pages; the next page's link keeps the order; a page past the last
    shows the last."""
    monkeypatch.setattr(label_service, "PER_PAGE", 2)
    ordered = sorted(label["number"] for label in issued.values())
    first = body.get("/app/labels", params={"sort": "number"}).text
    assert numbers_on(first) == ordered[:2] and "第 1 页，共 2 页" in first
    assert 'href="/app/labels?sort=number&amp;page=2" rel="next"' in first
    second = body.get("/app/labels", params={"sort": "number", "page": "2"}).text
    assert numbers_on(second) == ordered[2:] and 'href="/app/labels?sort=number" rel="prev"' in second
    beyond = body.get("/app/labels", params={"sort": "number", "page": "9"})
    assert beyond.status_code == 200 and numbers_on(beyond.text) == ordered[2:]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"state": "deleted"}, "state", "状态：请选择列出的状态之一。"),
        ({"sort": "value; drop table label"}, "sort", "排序：请选择列出的排序方式之一。"),
        ({"page": "two"}, "page", "页码：应为 1 至 10000 之间的整数。"),
        ({"page": "0"}, "page", "页码：应为 1 至 10000 之间的整数。"),
        ({"page": "-3"}, "page", "页码：应为 1 至 10000 之间的整数。"),
        ({"page": "9" * 40}, "page", "页码：应为 1 至 10000 之间的整数。"),
        ({"q": "x" * 101}, "q", "查找内容最多 100 个字符。"),
    ],
)
def test_a_query_that_is_not_understood_is_named_in_the_readers_language_never_a_server_error(
    issued, body, params, field, message
):
    """The rest of the query still applies: the list is shown below the error."""
    page = body.get("/app/labels", params=params)
    assert page.status_code == 422
    assert re.search(rf'<p class="field-error" id="{field}-error"[^>]*>{re.escape(message)}</p>', page.text)
    assert len(numbers_on(page.text)) == len(issued)


def test_the_labels_page_names_its_files_and_shows_its_facts_and_history(issued, body):
    """Defect 7: 'qr20.pdf' said nothing of what 20 is; the page names each file with the printed side of its QR
    code and the label's size (qr20: label 72 x 53 mm)."""
    label = issued["水泥熟料"]
    page = body.get(f"/app/labels/{label['number']}")
    assert page.status_code == 200
    titles = re.findall(r'<a href="/labels/[^"]+" download>([^<]+)</a> <span class="muted">([^<]+)</span>', page.text)
    assert titles[0] == ("证书 PDF（A4）", "标签的全部信息、在线查验二维码、离线核验码和完整签名声明。")
    assert ("标签 PDF（二维码 20 mm）", "矢量文件，适合印刷：标签 72 × 53 mm，二维码印刷边长 20 mm。") in titles
    assert [title for title, _ in titles[1:4]] == [
        "标签 PDF（二维码 20 mm）",
        "标签 PNG（二维码 20 mm）",
        "标签 SVG（二维码 20 mm）",
    ]
    assert len(titles) == 1 + 3 * 3
    assert f"<dd>{GTIN}</dd>" in page.text and label["issued_on"] in page.text and label["expires_on"] in page.text
    assert re.search(r"<strong>签发标签</strong>\s*· 核查员|<strong>签发标签</strong>\s*· cb-verifier", page.text)


def test_a_label_typed_in_another_spelling_opens_its_one_page(issued, body):
    number = issued[PRODUCTS[0]]["number"]
    response = body.get(f"/app/labels/{number.lower().replace('-', '')}")
    assert response.status_code == 303 and response.headers["location"] == f"/app/labels/{number}"


def test_another_bodys_label_is_not_found(world, issued):
    other = Browser(world.client.app, "cb2-verifier", lang="zh")
    number = issued[PRODUCTS[0]]["number"]
    assert other.get(f"/app/labels/{number}").status_code == 404
    refused = other.post_form("/app/labels", f"/app/labels/{number}/revoke", {"comment": "not ours"})
    assert refused.status_code == 404
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"


def _audit(number: str) -> list[tuple[str, dict]]:
    with session_scope() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.object_type == "label", AuditEvent.object_id == number)
        ).all()
        return [(event.action, event.after) for event in events]


def test_suspend_reinstate_and_revoke_on_the_labels_page_each_with_a_reason_in_the_audit_trail(world, issued, body):
    number = issued["复合硅酸盐水泥 P·C 32.5R"]["number"]
    url = f"/app/labels/{number}"
    page = body.get(url).text
    steps = re.findall(
        rf'<form method="post" action="{url}/(\w+)" class="form label-step" data-confirm="([^"]+)"', page
    )
    assert steps == [
        ("suspend", f"确定暂停标签 {number}？查验者将立即看到其已暂停。"),
        ("revoke", f"确定撤销标签 {number}？撤销后无法恢复。"),
    ]

    for blank in ("", "   "):
        refused = body.post_form(url, f"{url}/suspend", {"comment": blank})
        assert (
            refused.status_code == 422
            and '<p class="field-error" id="reason-suspend-error">请填写理由。</p>' in refused.text
        )
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"

    done = body.post_form(url, f"{url}/suspend", {"comment": "监督审核发现窑用燃料数据未经核实"})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=suspend"
    shown = body.get(done.headers["location"]).text
    assert "标签已暂停，查验页面已即时更新。" in shown and "监督审核发现窑用燃料数据未经核实" in shown
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "SUSPENDED"
    assert body.post_form(url, f"{url}/reinstate", {"comment": "燃料数据已核实"}).status_code == 303
    assert body.post_form(url, f"{url}/revoke", {"comment": "生产者撤回该碳足迹"}).status_code == 303

    revoked = body.get(url).text
    assert "该标签已不再有效，不能再变更状态。" in revoked and 'class="form label-step"' not in revoked
    again = body.post_form(url, f"{url}/suspend", {"comment": "再次暂停"})
    assert again.status_code == 409 and "该标签当前为“已撤销”，不能暂停。" in again.text
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "REVOKED"
    assert [(action, after.get("comment")) for action, after in _audit(number)][1:] == [
        ("label.suspend", "监督审核发现窑用燃料数据未经核实"),
        ("label.reinstate", "燃料数据已核实"),
        ("label.revoke", "生产者撤回该碳足迹"),
    ]


def test_an_unknown_step_is_not_found(issued, body):
    number = issued[PRODUCTS[0]]["number"]
    assert body.post_form("/app/labels", f"/app/labels/{number}/expire", {"comment": "x"}).status_code == 404


def test_the_json_api_refuses_a_reason_of_blanks_naming_the_field(world, issued):
    number = issued[PRODUCTS[0]]["number"]
    response = world.call("cb-verifier", "POST", f"/api/v1/labels/{number}/actions/suspend", json={"comment": "  "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "comment"
    assert world.client.get(f"/api/v1/public/labels/{number}").json()["status"] == "VALID"


def test_each_state_has_one_chinese_name_on_the_label_pages_and_the_verification_page():
    """Defect 8: one state, one name (已被替代, not also 已被取代): the body's pages and the verification page."""
    from footprint_api.core.messages import catalogue

    zh = catalogue("zh")
    verdicts = {"active": "VALID", "suspended": "SUSPENDED", "revoked": "REVOKED", "expired": "EXPIRED"}
    for state in label_service.STATES:
        assert zh(f"labels.state.{state}") == zh(f"verdict.{verdicts.get(state, state.upper())}"), state
    assert zh("labels.state.superseded") == "已被替代"


def test_the_pages_read_in_english_for_an_english_reader(world, issued):
    reader = Browser(world.client.app, "cb-verifier", lang="en")
    listing = reader.get("/app/labels", params={"state": "bogus"})
    assert listing.status_code == 422 and "State: choose one of the states listed." in listing.text
    page = reader.get(f"/app/labels/{issued[PRODUCTS[0]]['number']}").text
    assert (
        "Label PDF (QR code 20 mm)" in page
        and "Vector, for print: label 72 × 53 mm, QR code printed 20 mm wide." in page
    )
    assert "Suspend the label" in page and "标签" not in page.split("<main", 1)[1].split("</main>")[0].replace(
        PRODUCTS[0], ""
    )
