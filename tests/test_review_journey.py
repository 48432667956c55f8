"""The verifier's journey through the certification pages, in Chinese first: what a finding is about named in the
reader's language, the comparison with the version a label in force certified (numbers in the PCR's units) and the
warning that issuing supersedes it, the workbook an inventory was uploaded in, evidence refused when its content is
not what its name claims, the lists of applications searched, filtered, sorted and paged, and refusals worded in
the reader's language while the JSON API keeps its English with the code."""

import io
import re
import uuid

import openpyxl
import pytest

from tests.labelling import act, calculated_footprint, label_of
from tests.test_api_inventories import CEMENT_CLASS, CEMENT_GENERAL, CEMENT_PARAMETERS, fill
from tests.web_client import Browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
HTML = b"<!DOCTYPE html><html><body><script>document.location='https://evil.example'</script></body></html>"
CAO = {  # the example's clinker parameters, as the example states them (percent)
    "cao_fraction": {"amount": 65.5, "unit": "percent"},
    "mgo_fraction": {"amount": 2.5, "unit": "percent"},
    "cao_noncarbonate_fraction": {"amount": 0.5, "unit": "percent"},
}


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer", lang="zh")


@pytest.fixture(scope="module")
def verifier(app):
    return Browser(app, "cb-verifier", lang="zh")


def visible_text(html: str) -> str:
    """What a reader sees of a page: no scripts, styles or tags, entities as they read."""
    import html as entities

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def applied(world, footprint_id: str, body: str = "cb") -> str:
    """An application of the footprint, submitted to the body (through the JSON API)."""
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations[body])},
    )
    assert response.status_code == 201, response.text
    assert act(world, "acme-engineer", response.json()["id"], "submit").status_code == 200
    return response.json()["id"]


def labelled(world, footprint_id: str, body: str = "cb") -> tuple[str, str]:
    """(application, label number): applied, reviewed, approved and issued by the body."""
    label = label_of(world, footprint_id, body)
    return label["application_id"], label["number"]


def raise_(world, application: str, subject: str, text: str) -> str:
    response = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": subject, "text": text},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


# --- defect 7: what a finding is about, in the reader's language -------------------------------------------------


def test_a_finding_is_named_by_its_subject_in_chinese_not_by_its_code(world, engineer, verifier):
    """A finding on items[2] of the cement example (grid_electricity, 外购电力 in the PCR) and one on the
    production read "清单项 3：外购电力" and "产量" on both parties' Chinese pages; no page shows the code
    items[2] or "production" as text. The chooser offers the same names; the stored subject stays the code."""
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    review = f"/app/review/{application}"
    chooser = verifier.get(review).text
    assert '<option value="items[2]">清单项 3：外购电力</option>' in chooser
    assert '<option value="production">产量</option>' in chooser
    assert '<option value="facility">工厂</option>' in chooser and '<option value="result">结果</option>' in chooser
    for subject in ("items[2]", "production"):
        answer = verifier.post_form(review, f"{review}/findings", {"subject": subject, "text": "请核对"})
        assert answer.status_code == 303, answer.text
    for page in (verifier.get(review).text, engineer.get(f"/app/applications/{application}").text):
        findings = visible_text(re.search(r'<section class="card" id="findings".*?</section>', page, re.S).group(0))
        assert "清单项 3：外购电力" in findings and "产量" in findings
        assert "items[" not in visible_text(page) and "production" not in findings
    stored = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/findings").json()
    assert sorted(f["subject"] for f in stored) == ["items[2]", "production"]


def test_a_finding_names_the_item_of_the_version_it_was_raised_on(world, engineer):
    """Raised on items[1] of version 1 (kiln_coal, 窑用烟煤); the corrected version 2 lists its items in another
    order (items[1] is now clinker): the finding still reads "清单项 2：窑用烟煤"."""
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    first = calculated_footprint(world, gtin=None)
    application = applied(world, first["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    finding = raise_(world, application, "items[1]", "热值依据？")
    act(world, "cb-verifier", application, "request_corrections")
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["items"] = [data["items"][1], data["items"][0], *data["items"][2:]]
    inventory = world.submit("acme-engineer", first["product_id"], data)
    assert inventory.status_code == 201, inventory.text
    second = world.calculate("acme-engineer", inventory.json()["id"])["footprint_id"]
    step = f"/api/v1/applications/{application}/findings/{finding}/actions/answer"
    assert world.call("acme-engineer", "POST", step, json={"text": "已更正", "footprint_id": second}).status_code == 200
    assert act(world, "acme-engineer", application, "resubmit", footprint_id=second).status_code == 200
    page = visible_text(engineer.get(f"/app/applications/{application}").text)
    assert "清单项 2：窑用烟煤" in page and "清单项 2：本水泥所用自产熟料" not in page


def test_subject_names_of_a_list_of_findings_for_other_pages(world):
    """services.certification.subject_names names findings of several applications at once (for the dashboard and
    notices): 清单项 1：本水泥所用自产熟料 and 结果; in English from the PCR's English labels."""
    from footprint_api.core.messages import catalogue
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Finding
    from footprint_api.services import certification

    one = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    two = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    for application in (one, two):
        act(world, "cb-verifier", application, "start_review")
    ids = [uuid.UUID(raise_(world, one, "items[0]", "a")), uuid.UUID(raise_(world, two, "result", "b"))]
    with session_scope() as session:
        found = [session.get(Finding, i) for i in ids]
        zh = certification.subject_names(session, found, catalogue("zh"))
        en = certification.subject_names(session, found, catalogue("en"))
    assert zh == {ids[0]: "清单项 1：本水泥所用自产熟料", ids[1]: "结果"}
    assert en == {ids[0]: "Inventory item 1: clinker produced and used in this cement", ids[1]: "Result"}


# --- the label in force: the comparison and the warning ---------------------------------------------------------


def test_the_review_compares_with_the_version_the_label_in_force_certified_in_the_pcrs_units(world, engineer, verifier):
    """Version 1 (grid electricity 160,000,000 kWh; CaO 65.5 %) carries label N. Version 2 states the electricity
    as 150 GWh and CaO as 65.2 %. The review of version 2's application warns that issuing supersedes N and lists,
    in the PCR's units:
      外购电力: 160,000,000 kWh -> 150 GWh = 150,000,000 kWh (填报为 150 GWh);
                (150,000,000 - 160,000,000) / 160,000,000 = -6.25 % -> "-6.2 %" (one decimal, half to even)
      熟料中 CaO 含量: 65.5 % = 0.655 -> 65.2 % = 0.652 (PCR unit: a fraction);
                (0.652 - 0.655) / 0.655 = -0.458 % -> "-0.5 %"
    and nothing for the items that did not change. Issuing the label then supersedes N."""
    first = calculated_footprint(world, gtin=None)
    _, number = labelled(world, first["footprint_id"])
    second = calculated_footprint(
        world,
        product_id=first["product_id"],
        **{
            "2.amount": 150,
            "2.unit": "GWh",
            "0.parameters": {**CAO, "cao_fraction": {"amount": 65.2, "unit": "percent"}},
        },
    )
    application = applied(world, second["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    page = verifier.get(f"/app/review/{application}").text
    section = re.search(r'<section class="card diff in-force".*?</section>', page, re.S).group(0)
    assert f'data-in-force="{number}"' in section
    warning = visible_text(section)
    assert f"颁发本申请的标签将替代标签 {number}" in warning and "认证的是第 1 版清单" in warning
    electricity = visible_text(re.search(r'<tr data-field="items.grid_electricity.amount">.*?</tr>', section, re.S)[0])
    assert electricity == "外购电力 160,000,000 kWh 150,000,000 kWh 填报为 150 GWh -6.2 %"
    cao = visible_text(
        re.search(r'<tr data-field="items.clinker.parameters.cao_fraction">.*?</tr>', section, re.S).group(0)
    )
    assert cao == "本水泥所用自产熟料 · 熟料中 CaO 含量（质量分数） 0.655 填报为 65.5 % 0.652 填报为 65.2 % -0.5 %"
    fields = re.findall(r'<tr data-field="([^"]+)"', section)  # nothing else changed but the certificate batches:
    assert [f for f in fields if not f.startswith("green_certificates.")] == [  # each version retired its own
        "items.clinker.parameters.cao_fraction",
        "items.grid_electricity.amount",
    ]
    batches = visible_text(re.search(r'<tr data-field="green_certificates\.[^"]+">.*?</tr>', section, re.S)[0])
    assert batches.startswith("绿证批次 GEC-GZ-") and batches.endswith("20,000 MWh 未填写 –")
    assert "颁发标签后，现有标签" not in page  # beside the issue step too, once approved:
    act(world, "cb-verifier", application, "approve")
    approved = verifier.get(f"/app/review/{application}").text
    assert f"颁发标签后，现有标签 {number} 将被替代" in approved
    assert f'data-confirm="确定颁发标签？现有标签 {number} 将被替代。"' in approved
    assert act(world, "cb-verifier", application, "issue_label").status_code == 200
    labels = {x["number"]: x for x in world.call("acme-engineer", "GET", "/api/v1/labels").json()}
    assert labels[number]["state"] == "superseded"
    assert "data-in-force" not in verifier.get(f"/app/review/{application}").text  # issued: nothing left to warn


def test_a_label_in_force_from_another_body_is_named_but_its_inventory_is_not_shown(world, app):
    """Label N was issued by cb2 on version 1; cb reviews version 2: the warning names N (a public fact), the
    comparison is withheld, for that inventory was submitted to cb2 only."""
    first = calculated_footprint(world, gtin=None)
    _, number = labelled(world, first["footprint_id"], body="cb2")
    second = calculated_footprint(world, product_id=first["product_id"], **{"1.amount": 230_000})
    application = applied(world, second["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    page = Browser(app, "cb-verifier", lang="zh").get(f"/app/review/{application}").text
    section = re.search(r'<section class="card diff in-force".*?</section>', page, re.S).group(0)
    assert number in section and "提交给了其他认证机构" in section and "data-field=" not in section
    mine = Browser(app, "acme-engineer", lang="zh").get(f"/app/applications/{application}").text
    assert f'data-supersedes="{number}"' in mine


def test_the_resubmission_diff_compares_in_the_pcrs_units(world):
    """services.certification.inventory_changes: 120 GWh against 110,000,000 kWh is 120,000,000 kWh against
    110,000,000 kWh, a change of (110,000,000 - 120,000,000) / 120,000,000 = -8.33 %; the production 2,000,000 t
    against 2,000,000,000 kg (= 2,000,000 t) is no change."""
    from pcr_rules import default_registry
    from tests.conftest import load_example

    pcr = default_registry().get("PCR-CN-CEMENT", "1.0.0")
    before, after = load_example("cement-guizhou-2023.json"), load_example("cement-guizhou-2023.json")
    before["items"][2].update(amount=120, unit="GWh")
    after["items"][2].update(amount=110_000_000, unit="kWh")
    after["production"] = {"amount": 2_000_000_000, "unit": "kg"}
    from footprint_api.services.certification import inventory_changes

    changes = inventory_changes(before, after, pcr)
    assert [c.field for c in changes] == ["items.grid_electricity.amount"]
    (change,) = changes
    assert (change.before, change.after, change.unit) == (pytest.approx(120_000_000), 110_000_000, "kWh")
    assert change.before_stated == (120, "GWh") and change.after_stated is None
    assert change.change_percent == pytest.approx(-8.3333, abs=1e-4)


# --- the uploaded workbook --------------------------------------------------------------------------------------


def uploaded(world, engineer, name: str = "水泥清单 2023.xlsx") -> dict:
    """A cement inventory uploaded as a workbook on the upload page (its facility, a certificate batch),
    calculated."""
    facility = f"Line {uuid.uuid4().hex[:6]}"
    made = world.call("acme-engineer", "POST", "/api/v1/facilities", json={"name": facility, "province": "Guizhou"})
    assert made.status_code == 201, made.text
    template = world.client.get("/api/v1/pcrs/PCR-CN-CEMENT/template.xlsx").content
    content = fill(
        template,
        {**CEMENT_GENERAL, "Facility name": facility},
        {"clinker": (800, "t"), "kiln_coal": (110, "t"), "grid_electricity": (90_000, "kWh")},
        CEMENT_PARAMETERS,
        [[f"GEC-WB-{uuid.uuid4().hex[:8]}-0001", 10, "wind", "2023-04", "Guizhou", None, "gec"]],
        CEMENT_CLASS,  # the latest cement PCR (1.2.0) asks for the product class
    )
    product = world.product("acme-engineer", "PCR-CN-CEMENT", name="OPC")
    response = engineer.post_form(
        "/app/inventories/upload",
        "/app/inventories/upload",
        {"product_id": product["id"]},
        files={"file": (name, content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
    )
    assert response.status_code == 303, response.text
    inventory = response.headers["location"].rsplit("/", 1)[1]
    job = world.calculate("acme-engineer", inventory)
    assert job["status"] == "succeeded", job
    return {"content": content, "footprint_id": job["footprint_id"], "name": name}


def test_the_uploaded_workbook_downloads_from_both_parties_pages_as_it_was_uploaded(world, app, engineer, verifier):
    """The review file and the manufacturer's application page link the workbook; it downloads byte for byte, as
    an attachment named as it was uploaded; another manufacturer and another body get 404, as for evidence."""
    workbook = uploaded(world, engineer)
    application = applied(world, workbook["footprint_id"])
    for browser, base in ((engineer, f"/app/applications/{application}"), (verifier, f"/app/review/{application}")):
        page = browser.get(base).text
        assert f'href="{base}/workbook"' in page and "水泥清单 2023.xlsx" in page
        got = browser.get(f"{base}/workbook")
        assert got.status_code == 200 and got.content == workbook["content"]
        assert got.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
        assert got.headers["content-disposition"].startswith("attachment; filename=")
        assert got.headers["content-disposition"].endswith(
            "filename*=UTF-8''%E6%B0%B4%E6%B3%A5%E6%B8%85%E5%8D%95%202023.xlsx"
        )
        openpyxl.load_workbook(io.BytesIO(got.content))  # a workbook, not a page
    for intruder, url in (
        ("rival-engineer", f"/app/applications/{application}/workbook"),
        ("cb2-verifier", f"/app/review/{application}/workbook"),
    ):
        refused = Browser(app, intruder).get(url)
        assert refused.status_code == 404 and refused.content != workbook["content"]


def test_an_inventory_entered_in_the_form_has_no_workbook(world, engineer, verifier):
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    assert "/workbook" not in verifier.get(f"/app/review/{application}").text
    assert verifier.get(f"/app/review/{application}/workbook").status_code == 404
    assert engineer.get(f"/app/applications/{application}/workbook").status_code == 404


# --- evidence: the content must be what the name claims -------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, found",
    [("说明.pdf", HTML, "HTML"), ("scan.pdf", PNG, "PNG"), ("data.csv", HTML, "HTML"), ("photo.png", PDF, "PDF")],
)
def test_evidence_whose_content_is_not_what_its_name_claims_is_refused_and_nothing_stored(
    world, engineer, name, content, found
):
    """An HTML page or a PNG named .pdf (accepted before, and retyped) is refused with 422 at the file field, in
    Chinese, naming both kinds; no document is listed and the trail records no upload."""
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    mine = f"/app/applications/{application}"
    refused = engineer.post_form(mine, f"{mine}/evidence", files={"file": (name, content)})
    assert refused.status_code == 422
    error = visible_text(re.search(r'<p class="field-error" id="evidence-error">.*?</p>', refused.text, re.S)[0])
    claimed = name.rsplit(".", 1)[1].upper()
    assert error == (
        f"文件「{name}」按文件名应为 {claimed} 文件，但其内容是 {found}。请上传真实的 {claimed} 文件，或改用与内容相符的文件名。"
    )
    assert 'aria-invalid="true"' in refused.text
    assert world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json() == []
    api = world.call(
        "acme-engineer", "POST", f"/api/v1/applications/{application}/evidence", files={"file": (name, content)}
    )
    assert api.status_code == 422
    (entry,) = api.json()["errors"]
    assert entry["field"] == "file" and entry["code"] == "cert.error.evidence_mismatch"
    assert entry["params"] == {"name": name, "claimed": claimed, "found": found}
    assert f"is named a {claimed} file but its content is {found}" in entry["reason"]
    assert uploads(application) == []


def _docx() -> bytes:
    """The smallest Word document: a ZIP holding [Content_Types].xml and its main part word/document.xml."""
    import zipfile

    document = io.BytesIO()
    with zipfile.ZipFile(document, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return document.getvalue()


def test_a_real_pdf_workbook_and_csv_are_accepted_as_what_they_are(world, engineer):
    workbook = io.BytesIO()
    openpyxl.Workbook().save(workbook)
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    mine = f"/app/applications/{application}"
    for name, content in (
        ("电表读数.pdf", PDF),
        ("计量台账.xlsx", workbook.getvalue()),
        ("读数.csv", "日期,电量（kWh）\n2023-01,13000000\n".encode("gb18030")),
        ("核查说明.docx", _docx()),
        ("说明.txt", "2023 年电表读数见附件。\n".encode()),
    ):
        assert engineer.post_form(mine, f"{mine}/evidence", files={"file": (name, content)}).status_code == 303
    listed = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}/evidence").json()
    assert [(d["name"], d["content_type"]) for d in listed] == [
        ("电表读数.pdf", "application/pdf"),
        ("计量台账.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("读数.csv", "text/csv"),
        ("核查说明.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("说明.txt", "text/plain"),
    ]
    assert len(uploads(application)) == 5


def test_a_document_named_for_no_supported_kind_is_refused(world, engineer):
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    mine = f"/app/applications/{application}"
    for name in ("meter", "meter.exe"):
        refused = engineer.post_form(mine, f"{mine}/evidence", files={"file": (name, PDF)})
        error = visible_text(re.search(r'<p class="field-error" id="evidence-error">.*?</p>', refused.text, re.S)[0])
        assert refused.status_code == 422
        assert (
            error == f"文件「{name}」的扩展名不受支持：只接受 .pdf、.png、.jpg、.jpeg、.xlsx、.docx、.csv、.txt 文件。"
        )
    assert uploads(application) == []


# --- lists that scale ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(world):
    """Three applications of a product named for this test, and one of another, all submitted to cb."""
    tag = uuid.uuid4().hex[:6]
    ids = []
    for name in (f"Kiln {tag} A", f"Kiln {tag} B", f"Kiln {tag} C", f"Mill {tag}"):
        product = world.product("acme-engineer", "PCR-CN-CEMENT", name=name)
        ids.append(applied(world, calculated_footprint(world, product_id=product["id"])["footprint_id"]))
    act(world, "cb-verifier", ids[1], "start_review")
    return {"tag": tag, "ids": ids}


def manufacturer() -> str:
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Organisation, OrganisationKind

    with session_scope() as session:
        names = session.exec(select(Organisation.name).where(Organisation.kind == OrganisationKind.MANUFACTURER))
        return next(name for name in names if name.startswith("acme "))


def uploads(application: str) -> list:
    """The audit entries of documents attached to the application."""
    from sqlmodel import select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import AuditEvent

    with session_scope() as session:
        return list(
            session.exec(
                select(AuditEvent.seq).where(
                    AuditEvent.object_id == application, AuditEvent.action == "evidence.uploaded"
                )
            )
        )


def rows(html: str) -> list[str]:
    table = re.search(r"<table [^>]*data-applications>.*?</table>", html, re.S)
    return (
        re.findall(r'<a href="/app/(?:review|applications)/([0-9a-f-]{36})" class="label-number">', table[0])
        if table
        else []
    )


def test_the_queue_is_searched_by_product_number_and_manufacturer_filtered_sorted_and_paged(world, verifier, many):
    tag, ids = many["tag"], many["ids"]
    kilns = rows(verifier.get("/app/review", params={"q": f"kiln {tag}", "sort": "product"}).text)
    assert kilns == ids[:3]  # by product name, A B C; case-insensitive
    number = ids[2].replace("-", "")[:8].upper()
    assert rows(verifier.get("/app/review", params={"q": number.lower()}).text) == [ids[2]]
    assert rows(verifier.get("/app/review", params={"q": ids[3]}).text) == [ids[3]]  # the whole id
    under_review = rows(verifier.get("/app/review", params={"q": tag, "state": "under_review"}).text)
    assert under_review == [ids[1]]
    first = verifier.get("/app/review", params={"q": tag, "size": 10, "sort": "created_asc"}).text
    assert rows(first) == ids
    assert set(ids) <= set(rows(verifier.get("/app/review", params={"q": manufacturer(), "size": 100}).text))
    assert rows(verifier.get("/app/review", params={"q": f"Kiln {tag}", "since": "2999-01-01"}).text) == []


def test_pages_of_a_list_do_not_overlap_and_link_each_other(world, verifier, many):
    """Four applications of the tag, 10 to a page at least: sizes are 10, 25, 50, 100, so the tag's four fill one
    page; every application of the body, 10 a page, split over pages that together list each once."""
    seen: list[str] = []
    page = verifier.get("/app/review", params={"size": 10}).text
    total = int(re.search(r"共 (\d+) 份申请", page).group(1))
    pages = -(-total // 10)
    for number in range(1, pages + 1):
        html = verifier.get("/app/review", params={"size": 10, "page": number}).text
        seen += rows(html)
        if number < pages:
            assert 'rel="next"' in html
    assert len(seen) == total == len(set(seen)) and set(many["ids"]) <= set(seen)


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999999999999999999"},
        {"size": "7"},
        {"size": "1000000"},
        {"sort": "id; drop table application"},
        {"state": "nonsense"},
        {"q": "%_\\'\""},
        {"q": "x" * 5000},
    ],
)
def test_bad_list_input_falls_back_and_never_fails(verifier, engineer, params):
    for browser, url in ((verifier, "/app/review"), (engineer, "/app/applications")):
        response = browser.get(url, params=params)
        assert response.status_code == 200, (params, response.status_code)


def test_a_day_that_is_not_a_day_is_named_at_its_field_in_chinese(verifier, engineer):
    for browser, url in ((verifier, "/app/review"), (engineer, "/app/applications")):
        response = browser.get(url, params={"since": "2024/12/31", "until": "2024-01-01"})
        assert response.status_code == 422
        error = re.search(r'<p class="field-error" id="since-error">(.*?)</p>', response.text).group(1)
        assert error == "日期格式应为 年-月-日（如 2024-12-31）。"
        reversed_ = browser.get(url, params={"since": "2024-12-31", "until": "2024-01-01"})
        assert reversed_.status_code == 422 and "结束日期早于开始日期。" in reversed_.text


# --- refusals in the reader's language ---------------------------------------------------------------------------


def test_a_refused_step_reads_in_chinese_and_the_api_keeps_english_with_the_code(world, verifier):
    """Approving with an open finding: 409; the page says why in Chinese, the JSON API in English, with the code
    and the count. Starting a review already started: the workflow's table, worded with the state names."""
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    raise_(world, application, "items[0]", "CaO?")
    review = f"/app/review/{application}"
    refused = verifier.post_form(review, f"{review}/actions/approve", {"comment": "核查通过"})
    problem = re.search(r'<p class="problem" role="alert">(.*?)</p>', refused.text).group(1)
    assert refused.status_code == 409 and problem == "还有 1 个审核问题未由核查员关闭：请先关闭它们，或要求整改。"
    again = verifier.post_form(review, f"{review}/actions/start_review")
    problem = re.search(r'<p class="problem" role="alert">(.*?)</p>', again.text).group(1)
    assert again.status_code == 409
    assert problem == "申请当前为「审核中」，不能「开始审核」；只有在「已提交、已重新提交」时才可以。"
    api = act(world, "cb-verifier", application, "start_review")
    body = api.json()
    assert api.status_code == 409 and "cannot start review a certification application" in body["detail"]
    assert body["errors"][0]["code"] == "cert.error.state"
    assert body["errors"][0]["params"] == {
        "subject": "application",
        "action": "start_review",
        "state": "under_review",
        "allowed": ["submitted", "corrected"],
    }


def test_a_refused_form_names_its_field_in_chinese(world, app, verifier):
    application = applied(world, calculated_footprint(world, gtin=None)["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    review = f"/app/review/{application}"
    no_statement = verifier.post_form(review, f"{review}/actions/approve", {"comment": " "})
    error = re.search(r'<p class="field-error" id="approve-error">(.*?)</p>', no_statement.text).group(1)
    assert no_statement.status_code == 422 and error == "批准时必须填写核查声明。"
    empty = verifier.post_form(review, f"{review}/findings", {"subject": "items[0]", "text": ""})
    error = re.search(r'<p class="field-error" id="raise-text-error">(.*?)</p>', empty.text).group(1)
    assert empty.status_code == 422 and error == "此项为必填项。"


def test_a_resubmission_naming_an_older_version_is_refused_at_its_field(world, engineer):
    """The corrected version must be newer: naming version 1 for the application of version 2 answers 422, the
    reason at the version chooser, in Chinese, with both version numbers; the application stays as it was."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"1.amount": 230_000})
    application = applied(world, second["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    finding = raise_(world, application, "items[1]", "请说明")
    act(world, "cb-verifier", application, "request_corrections")
    step = f"/api/v1/applications/{application}/findings/{finding}/actions/answer"
    assert world.call("acme-engineer", "POST", step, json={"text": "见说明"}).status_code == 200
    mine = f"/app/applications/{application}"
    refused = engineer.post_form(mine, f"{mine}/actions/resubmit", {"footprint_id": first["footprint_id"]})
    error = re.search(r'<p class="field-error" id="resubmit-error">(.*?)</p>', refused.text).group(1)
    assert refused.status_code == 422
    assert error == "修正版本须为本产品更新的清单版本：所选为第 1 版，申请中的为第 2 版。"
    state = world.call("acme-engineer", "GET", f"/api/v1/applications/{application}").json()["state"]
    assert state == "findings"


def test_a_version_a_correction_replaced_is_not_offered_for_a_new_application(world, engineer):
    """Version 1 applied for, then corrected by version 2 on resubmission: neither is offered under "可以申请认证的
    碳足迹" (version 1 would otherwise be certified anew over the correction)."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"1.amount": 230_000})
    application = applied(world, first["footprint_id"])
    act(world, "cb-verifier", application, "start_review")
    finding = raise_(world, application, "items[1]", "请说明")
    act(world, "cb-verifier", application, "request_corrections")
    step = f"/api/v1/applications/{application}/findings/{finding}/actions/answer"
    assert world.call("acme-engineer", "POST", step, json={"text": "已更正"}).status_code == 200
    assert act(world, "acme-engineer", application, "resubmit", footprint_id=second["footprint_id"]).status_code == 200
    page = engineer.get("/app/applications").text
    for footprint in (first["footprint_id"], second["footprint_id"]):
        assert f"/app/applications/new?footprint={footprint}" not in page


def test_reruns_to_apply_for_are_listed_under_their_version_and_named(world, engineer):
    """Defect 9 on the applications page: version 1 calculated, then rerun twice with Monte Carlo (50 iterations),
    then version 2: the list offers version 2 first, then version 1 and its two reruns, each rerun named as a
    Monte Carlo rerun of version 1 (never three identical "1" rows above the later version)."""
    product = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/products",
        json={"name": f"rerun cement {uuid.uuid4().hex[:6]}", "pcr_id": "PCR-CN-CEMENT"},
    ).json()
    first = calculated_footprint(world, product_id=product["id"])
    reruns = [
        world.calculate("acme-engineer", first["inventory_id"], monte_carlo_iterations=50, seed=1) for _ in range(2)
    ]
    second = calculated_footprint(world, product_id=product["id"])
    page = engineer.get("/app/applications").text
    order = [first["footprint_id"], *(r["footprint_id"] for r in reruns), second["footprint_id"]]
    rows = {
        found: visible_text(row)
        for row in re.findall(r"<tr>.*?</tr>", page, re.S)
        for found in order
        if f"footprint={found}" in row
    }
    assert sorted(rows, key=lambda f: page.index(f"footprint={f}")) == [order[3], order[0], order[1], order[2]]
    assert "重算" not in rows[order[3]] and "重算" not in rows[order[0]]
    assert all("蒙特卡洛重算，第 1 版（50 次迭代）" in rows[r] for r in order[1:3])
