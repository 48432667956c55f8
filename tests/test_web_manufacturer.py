"""The manufacturer's pages without a browser: the dashboard shows the organisation's own products, footprints and
labels; a calculation is a job with a live status; the footprint page shows every part of the stored result; the
report and the CBAM export download through the page routes; two versions compare; every route isolates."""

import io
import re
import uuid
from html import unescape

import openpyxl
import pytest

from footprint_api.web.routes.manufacturer import number
from tests.conftest import load_example
from tests.labelling import act, calculated_footprint, issued_label
from tests.web_client import Browser, csrf_of


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def acme(world):
    """Acme's objects: a labelled cement footprint, a flat-glass footprint, two versions of one cement product
    (the second with less clinker) and a Monte Carlo run of the second; an open application with a finding."""
    label = issued_label(world)
    footprint_id = world.call("acme-engineer", "GET", f"/api/v1/applications/{label['application_id']}").json()[
        "footprint_id"
    ]
    cement = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint_id}").json()
    glass = calculated_footprint(world, example="flat-glass-hebei-2023.json", gtin=None)
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"0.amount": 1_500_000})
    job = world.calculate("acme-engineer", second["inventory_id"], monte_carlo_iterations=200, seed=7)
    assert job["status"] == "succeeded", job
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": first["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()
    act(world, "acme-engineer", application["id"], "submit")
    act(world, "cb-verifier", application["id"], "start_review")
    finding = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application['id']}/findings",
        json={"subject": "items[0]", "text": "Show the clinker <meter> readings"},
    )
    assert finding.status_code == 201, finding.text
    return {
        "label": label,
        "cement": cement,
        "glass": glass,
        "first": first,
        "second": second,
        "monte_carlo": job,
        "application_id": application["id"],
    }


@pytest.fixture(scope="module")
def rival(world):
    return calculated_footprint(world, user="rival-engineer", gtin=None, example="aluminium-guizhou-2023.json")


@pytest.fixture(scope="module")
def engineer(app):
    return Browser(app, "acme-engineer")


# --- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (784.81664, "784.8"),
        (12_345.6, "12,346"),
        (0.0545, "0.05450"),
        (1_640_000, "1,640,000"),
        (0, "0"),
        (-3.14159, "-3.142"),
        (None, "–"),
    ],
)
def test_numbers_have_thousands_separators_and_four_significant_digits(value, shown):
    assert number(value) == shown


# --- dashboard --------------------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_organisations_products_footprints_and_labels(engineer, acme, rival):
    page = engineer.get("/app/dashboard")
    assert page.status_code == 200
    assert f'href="/app/footprints/{acme["cement"]["id"]}"' in page.text
    assert f'href="/V/{acme["label"]["number"]}"' in page.text and "badge ok" in page.text
    assert number(acme["cement"]["total_kg_co2e"]) in page.text and "kg CO2e / 1 t" in page.text
    assert f'href="/app/applications/{acme["application_id"]}"' in page.text
    assert "Show the clinker &lt;meter&gt; readings" in page.text  # a finding, escaped
    assert f'href="/app/jobs/{acme["monte_carlo"]["id"]}"' in page.text
    assert rival["footprint_id"] not in page.text and "aluminium" not in page.text.lower()


def test_the_dashboard_offers_to_calculate_an_inventory_not_yet_calculated(world, engineer, acme):
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "uncalculated cement")
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    inventory = world.submit("acme-engineer", product["id"], unique_serials(load_example("cement-guizhou-2023.json")))
    page = engineer.get("/app/dashboard").text
    assert f'name="inventory_id" value="{inventory.json()["id"]}"' in page


@pytest.fixture(scope="module")
def aluminium_label(world):
    """A label on the aluminium example, whose footprint has five digits before the decimal point."""
    label = issued_label(world, example="aluminium-guizhou-2023.json", gtin=None)
    application = world.call("acme-engineer", "GET", f"/api/v1/applications/{label['application_id']}").json()
    footprint = world.call("acme-engineer", "GET", f"/api/v1/footprints/{application['footprint_id']}").json()
    return {"label": label, "footprint": footprint, "product_id": application["product_id"]}


def product_row(page: str, product_id: str) -> str:
    found = re.search(rf'<tr data-product="{product_id}">(.*?)</tr>', page, re.S)
    assert found, "no row of the product"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_the_dashboard_shows_the_labels_figure_beside_the_calculated_one(app, aluminium_label):
    """The aluminium footprint is 11,215.3 kg CO2e/t (the page shows 11,215: four significant digits, more before the
    decimal point); the label shows it to four significant digits, half up: 1.1215 x 10^4 -> 1.122 x 10^4 = 11,220.
    Before, the dashboard showed 11,215 beside the label's number and nothing said the label prints 11,220."""
    footprint = aluminium_label["footprint"]
    assert round(footprint["total_kg_co2e"], 1) == 11_215.3
    assert aluminium_label["label"]["value"] == "11220"  # as signed
    product_id = aluminium_label["product_id"]
    en = product_row(Browser(app, "acme-engineer").get("/app/dashboard").text, product_id)
    assert "11,215 kg CO2e / 1 t" in en and "On the label: 11,220 kg CO2e / 1 t" in en, en
    zh = Browser(app, "acme-engineer", lang="zh-CN").get("/app/dashboard").text
    assert "标识数值 11,220 kg CO2e / 1 t" in product_row(zh, product_id)
    assert "四位有效数字修约" in zh  # the rule is stated under the table


def test_the_footprint_list_and_page_show_the_labels_figure(app, aluminium_label):
    footprint = aluminium_label["footprint"]
    listed = (
        Browser(app, "acme-engineer").get("/app/footprints", params={"product": aluminium_label["product_id"]}).text
    )
    assert "On the label: 11,220 kg CO2e / 1 t" in " ".join(unescape(re.sub(r"<[^>]+>", " ", listed)).split())
    page = Browser(app, "acme-engineer").get(f"/app/footprints/{footprint['id']}").text
    assert re.search(r"data-total>11,215<", page) and "On the label: 11,220 kg CO2e / 1 t" in page


def test_the_dashboard_in_chinese(app, acme):
    page = Browser(app, "acme-engineer", lang="zh-CN").get("/app/dashboard")
    assert page.status_code == 200 and "产品、最新碳足迹与标识" in page.text and 'lang="zh-CN"' in page.text


# --- jobs -------------------------------------------------------------------------------------------------------


def test_calculating_from_the_page_starts_a_job_and_its_status_follows_it(world, engineer, acme):
    response = engineer.post_form("/app/dashboard", "/app/jobs", {"inventory_id": acme["first"]["inventory_id"]})
    assert response.status_code == 303 and response.headers["location"].startswith("/app/jobs/")
    job_url = response.headers["location"]
    page = engineer.get(job_url)
    assert page.status_code == 200 and re.search(r'<progress id="job-progress"[^>]*max="1"', page.text)
    assert 'data-job-poll="job-poll"' in page.text and "<script>" not in page.text
    world.wait("acme-engineer", job_url.rsplit("/", 1)[1])
    status = engineer.get(f"{job_url}/status")
    assert status.headers["content-type"] == "application/json"
    body = status.json()
    assert body["status"] == "succeeded" and body["progress"] == 1.0
    assert body["footprint_url"].startswith("/app/footprints/") and body["error"] is None


def test_a_finished_job_page_links_the_footprint_and_refreshes_to_it_without_scripts(engineer, acme):
    page = engineer.get(f"/app/jobs/{acme['monte_carlo']['id']}").text
    footprint_url = f"/app/footprints/{acme['monte_carlo']['footprint_id']}"
    assert f'href="{footprint_url}"' in page
    assert f'<noscript><meta http-equiv="refresh" content="1;url={footprint_url}"></noscript>' in page


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"inventory_id": "not-an-id"}, "inventory_id"),
        ({"monte_carlo_iterations": "1000000000"}, "monte_carlo_iterations"),
        ({"monte_carlo_iterations": "many"}, "monte_carlo_iterations"),
    ],
)
def test_a_calculation_with_bad_parameters_is_refused_naming_the_field(engineer, acme, fields, field):
    data = {"inventory_id": acme["first"]["inventory_id"], **fields}
    response = engineer.post_form("/app/dashboard", "/app/jobs", data)
    assert response.status_code == 422 and field in response.text


def test_a_failed_job_shows_its_error(world, engineer, acme):
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import Job, JobStatus

    with session_scope() as db:
        job = Job(
            organisation_id=world.organisations["acme"],
            inventory_id=uuid.UUID(acme["first"]["inventory_id"]),
            status=JobStatus.FAILED,
            error="FactorSetError: no factor for <unobtainium>",
        )
        db.add(job)
        db.commit()
        job_id = job.id
    page = engineer.get(f"/app/jobs/{job_id}").text
    assert "no factor for &lt;unobtainium&gt;" in page and "data-job-error hidden" not in page
    assert engineer.get(f"/app/jobs/{job_id}/status").json()["status"] == "failed"


# --- footprints -------------------------------------------------------------------------------------------------


def test_the_footprint_list_shows_product_version_pcr_total_and_certification(engineer, acme, rival):
    page = engineer.get("/app/footprints").text
    assert f'href="/app/footprints/{acme["second"]["footprint_id"]}"' in page
    assert "PCR-CN-FLATGLASS" in page and f'href="/V/{acme["label"]["number"]}"' in page
    assert "Not certified." in page and rival["footprint_id"] not in page


def test_the_footprint_page_shows_total_methods_stages_gases_and_certificates(world, engineer, acme):
    footprint_id = acme["cement"]["id"]
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint_id}").json()["result"]
    page = engineer.get(f"/app/footprints/{footprint_id}")
    assert page.status_code == 200
    text = page.text
    assert re.search(rf"data-total>{re.escape(number(result['total_kg_co2e']))}<", text)
    assert 'data-method="location_based"' in text and 'data-method="market_based"' in text
    assert number(result["location_based_kg_co2e"]) in text and number(result["market_based_kg_co2e"]) in text
    assert "Raw material acquisition" in text and "Transport" in text and "CO2 (fossil)" in text
    serial = result["electricity"]["certificates"][0]["serial"]
    assert f"<code>{serial}</code>" in text and ">20,000<" in text  # 20 000 MWh retired, as the inventory says
    assert 'data-chart="contribution-chart"' in text and 'id="contribution-chart"' in text
    assert "data-monte-carlo" not in text  # no Monte Carlo run for this footprint
    assert f'href="/labels/{acme["label"]["number"]}/qr20.png"' in text
    assert "cn-2025.1" in text and "PCR-CN-CEMENT 1.0.0" in text


@pytest.mark.parametrize(
    "example", ["aluminium-guizhou-2023.json", "electricity-guizhou-coal-2023.json", "steel-hebei-bfbof-2023.json"]
)
def test_the_footprint_page_of_every_product_category_renders(world, engineer, acme, example):
    footprint = calculated_footprint(world, example=example, gtin=None)
    page = engineer.get(f"/app/footprints/{footprint['footprint_id']}")
    assert page.status_code == 200 and "data-total" in page.text and "data-stages" in page.text


def test_the_monte_carlo_section_appears_only_when_it_ran(world, engineer, acme):
    footprint_id = acme["monte_carlo"]["footprint_id"]
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint_id}").json()["result"]
    text = engineer.get(f"/app/footprints/{footprint_id}").text
    u = result["uncertainty"]
    assert "data-monte-carlo" in text and 'data-chart="mc-chart"' in text
    assert f"{number(u['p2_5_kg_co2e'])} – {number(u['p97_5_kg_co2e'])}" in text


def test_requesting_a_monte_carlo_run_starts_a_job_with_those_iterations(world, engineer, acme):
    page = f"/app/footprints/{acme['first']['footprint_id']}"
    response = engineer.post_form(page, f"{page}/monte-carlo", {"monte_carlo_iterations": "50"})
    assert response.status_code == 303
    job = world.wait("acme-engineer", response.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "succeeded"
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{job['footprint_id']}").json()["result"]
    assert result["uncertainty"]["iterations"] == 50


@pytest.mark.parametrize("iterations", ["0", "20001", "-5", "ten"])
def test_monte_carlo_iterations_out_of_bounds_are_shown_next_to_the_field(engineer, acme, iterations):
    page = f"/app/footprints/{acme['first']['footprint_id']}"
    response = engineer.post_form(page, f"{page}/monte-carlo", {"monte_carlo_iterations": iterations})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text and 'class="field-error" id="mc-error"' in response.text
    assert "between 1 and 20,000" in response.text


def test_the_report_downloads_as_pdf(engineer, acme):
    response = engineer.get(f"/app/footprints/{acme['cement']['id']}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_cement_exports_cbam_as_csv_and_xlsx(engineer, acme):
    page = engineer.get(f"/app/footprints/{acme['cement']['id']}").text
    assert f'href="/app/footprints/{acme["cement"]["id"]}/cbam.csv"' in page
    csv = engineer.get(f"/app/footprints/{acme['cement']['id']}/cbam.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "2523" in csv.text  # CN code of cement
    xlsx = engineer.get(f"/app/footprints/{acme['cement']['id']}/cbam.xlsx")
    assert xlsx.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.max_row >= 2


def test_flat_glass_has_no_cbam_export_and_the_page_says_why(engineer, acme):
    footprint_id = acme["glass"]["footprint_id"]
    page = engineer.get(f"/app/footprints/{footprint_id}").text
    assert f"/app/footprints/{footprint_id}/cbam.csv" not in page
    assert 'aria-disabled="true"' in page and "No CBAM export for this product" in page
    response = engineer.get(f"/app/footprints/{footprint_id}/cbam.csv")
    assert response.status_code == 422


def test_flat_glass_says_in_chinese_why_it_has_no_cbam_export(app, acme):
    """Before, the reason was the export's English detail ("... does not make a good listed in Annex I ...")."""
    page = Browser(app, "acme-engineer", lang="zh-CN").get(f"/app/footprints/{acme['glass']['footprint_id']}").text
    reason = re.search(r'<p class="muted small cbam-reason">(.*?)</p>', page, re.S).group(1)
    assert "PCR-CN-FLATGLASS 所涵盖的产品不是欧盟《碳边境调节机制》条例（(EU) 2023/956）附件一所列的货物" in reason
    assert "Annex" not in page and "does not make" not in page


def test_a_measurement_of_every_source_is_explained_in_chinese(world, app):
    """Under PCR-CN-CEMENT 1.0.0 a stack measurement may name no sources: it then replaces the calculated CO2 of
    every item, which the footprint names as a data gap and, per item, as measured. The page says both in Chinese;
    what the engineer typed (the method and place of the measurement) stays as typed."""
    from tests.labelling import unique_serials

    product = world.product("acme-engineer", "PCR-CN-CEMENT", "cement measured at the stack")
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["measured_emissions"] = [
        {"gas": "co2", "amount": 1_300_000, "unit": "t", "method": "CEMS", "source": "kiln stack"}
    ]
    inventory = world.submit("acme-engineer", product["id"], data)
    assert inventory.status_code == 201, inventory.text
    footprint = world.calculate("acme-engineer", inventory.json()["id"])["footprint_id"]
    page = Browser(app, "acme-engineer", lang="zh-CN").get(f"/app/footprints/{footprint}").text
    gaps = " ".join(
        unescape(re.sub(r"<[^>]+>", " ", re.search(r"<ul data-gaps>(.*?)</ul>", page, re.S).group(1))).split()
    )
    assert "实测 CO2（CEMS, kiln stack）未指明排放源：它替代了所有清单项（" in gaps, gaps
    assert "本水泥所用自产熟料" in gaps and "names no emission sources" not in gaps
    measured = re.search(r"<ul data-measured>(.*?)</ul>", page, re.S).group(1)
    assert "本水泥所用自产熟料 · CO2: CEMS, kiln stack → 实测 CO2" in unescape(measured), measured
    assert "measured (" not in page


def test_the_footprint_page_links_the_comparison_with_the_previous_version(world, engineer, acme):
    page = engineer.get(f"/app/footprints/{acme['second']['footprint_id']}").text
    link = re.search(rf'href="/app/footprints/compare\?a=([0-9a-f-]+)&amp;b={acme["second"]["footprint_id"]}"', page)
    assert link, "no link to the comparison"
    previous = world.call("acme-engineer", "GET", f"/api/v1/footprints/{link.group(1)}").json()
    assert previous["inventory_id"] == acme["first"]["inventory_id"]  # a footprint of version 1


def test_two_versions_side_by_side_mark_the_changed_item_amount(engineer, acme):
    a, b = acme["first"]["footprint_id"], acme["second"]["footprint_id"]
    page = engineer.get(f"/app/footprints/compare?a={a}&b={b}")
    assert page.status_code == 200
    changed = re.search(r'<tr class="changed" data-key="item:clinker">(.*?)</tr>', page.text, re.S)
    assert changed and "1,640,000" in changed.group(1) and "1,500,000" in changed.group(1)
    assert "-140,000" in changed.group(1)  # 1 500 000 - 1 640 000 t
    assert '<tr class="changed" data-key="result:total_kg_co2e">' in page.text
    assert '<tr data-key="item:limestone">' in page.text  # unchanged, in the collapsed table
    assert '<details class="unchanged">' in page.text


def compared_row(page: str, key: str) -> str:
    """The visible text of a changed row of the comparison."""
    found = re.search(rf'<tr class="changed" data-key="{re.escape(key)}">(.*?)</tr>', page, re.S)
    assert found, f"no changed row {key}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


@pytest.fixture(scope="module")
def entered_otherwise(world):
    """Two versions of one cement product, each entered in other units than the PCR's: version 1 gives the grid
    electricity as 120 GWh and the CaO of clinker as 0.652 (a 0-1 fraction), version 2 as 118,000,000 kWh and
    65.5 %."""
    from tests.conftest import load_example
    from tests.labelling import unique_serials

    product = world.product("acme-engineer", "PCR-CN-CEMENT", "cement entered otherwise")
    footprints = []
    for electricity, cao in (((120, "GWh"), (0.652, "dimensionless")), ((118_000_000, "kWh"), (65.5, "percent"))):
        data = unique_serials(load_example("cement-guizhou-2023.json"))
        data["items"][2]["amount"], data["items"][2]["unit"] = electricity
        data["items"][0]["parameters"]["cao_fraction"] = {"amount": cao[0], "unit": cao[1]}
        inventory = world.submit("acme-engineer", product["id"], data)
        assert inventory.status_code == 201, inventory.text
        footprints.append(world.calculate("acme-engineer", inventory.json()["id"])["footprint_id"])
    return footprints


def test_an_amount_entered_in_another_unit_is_compared_in_the_pcrs_unit(engineer, entered_otherwise):
    """The PCR counts grid electricity in kWh: 120 GWh = 120 x 1,000,000 kWh = 120,000,000 kWh, then 118,000,000
    kWh; difference 118,000,000 - 120,000,000 = -2,000,000 kWh, -2,000,000 / 120,000,000 = -1.67 % (shown -1.7 %).
    Before, the page set the typed 120 beside the PCR's unit ("120.0 kWh") and the change came out as +98,333,233 %."""
    a, b = entered_otherwise
    page = engineer.get(f"/app/footprints/compare?a={a}&b={b}").text
    row = compared_row(page, "item:grid_electricity")
    assert "120,000,000 kWh entered as 120 GWh" in row and "118,000,000 kWh" in row, row
    assert "-2,000,000 kWh (-1.7 %)" in row, row
    assert "98,333" not in page and "120.0 kWh" not in page


def test_a_fraction_entered_as_0_to_1_or_in_percent_is_compared_in_percent(engineer, entered_otherwise):
    """CaO of clinker: 0.652 (a 0-1 fraction) = 65.2 %, then 65.5 %: +0.3 percentage points, 0.3 / 65.2 = +0.46 %
    (shown +0.5 %); 65.2 and 65.5 are shown with four significant digits, 65.20 and 65.50."""
    a, b = entered_otherwise
    row = compared_row(engineer.get(f"/app/footprints/compare?a={a}&b={b}").text, "parameter:clinker.cao_fraction")
    assert "65.20 % entered as 0.652" in row and "65.50 %" in row, row
    assert "+0.3000 percentage points (+0.5 %)" in row, row


def test_compared_items_and_parameters_are_named_not_coded(app, entered_otherwise):
    """The rows name the PCR's items and parameters in the reader's language (the codes stay in data-key only)."""
    a, b = entered_otherwise
    url = f"/app/footprints/compare?a={a}&b={b}"
    zh = Browser(app, "acme-engineer", lang="zh-CN").get(url).text
    assert compared_row(zh, "item:grid_electricity").startswith("清单项 外购电力")
    assert compared_row(zh, "parameter:clinker.cao_fraction").startswith(
        "参数 本水泥所用自产熟料 · 熟料中 CaO 含量（质量分数）"
    )
    en = Browser(app, "acme-engineer").get(url).text
    assert compared_row(en, "item:grid_electricity").startswith("Item grid electricity")
    for page in (zh, en):
        visible = unescape(re.sub(r"<[^>]+>", " ", page))
        assert "grid_electricity" not in visible and "cao_fraction" not in visible and "kiln_coal." not in visible


def test_footprints_of_different_products_are_not_compared(engineer, acme):
    response = engineer.get(
        f"/app/footprints/compare?a={acme['glass']['footprint_id']}&b={acme['second']['footprint_id']}"
    )
    assert response.status_code == 422


# --- recalculations and the footprint list ---------------------------------------------------------------------


def certify(world, footprint_id: str) -> dict:
    """Apply, submit, review, approve and issue a label for this footprint; returns the label."""
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint_id, "certification_body_id": str(world.organisations["cb"])},
    ).json()["id"]
    for user, action in (
        ("acme-engineer", "submit"),
        ("cb-verifier", "start_review"),
        ("cb-verifier", "approve"),
        ("cb-verifier", "issue_label"),
    ):
        assert act(world, user, application, action).status_code == 200, action
    return next(
        label
        for label in world.call("cb-verifier", "GET", "/api/v1/labels").json()
        if label["application_id"] == application
    )


@pytest.fixture(scope="module")
def reruns(world):
    """Versions 1, 2 and 3 of one cement product, version 3 certified, then two Monte Carlo reruns of version 1
    (50 and 60 iterations): the reruns are the newest footprints."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"0.amount": 1_600_000})
    third = calculated_footprint(world, product_id=first["product_id"], **{"0.amount": 1_560_000})
    label = certify(world, third["footprint_id"])
    rerun = []
    for iterations in (50, 60):
        job = world.calculate("acme-engineer", first["inventory_id"], monte_carlo_iterations=iterations, seed=3)
        assert job["status"] == "succeeded", job
        rerun.append(job["footprint_id"])
    return {"product_id": first["product_id"], "label": label, "versions": (first, second, third), "reruns": rerun}


def calculations_listed(page: str) -> list[str]:
    """The calculation column of the footprint list, row by row, as read."""
    cells = re.findall(r"<a [^>]*data-calculation>(.*?)</a>", page, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def test_reruns_are_named_and_listed_under_their_version_never_above_a_later_one(engineer, reruns):
    """Before, the list was by date only: the two reruns of version 1 came first, as three rows alike
    ("1 · 741.0 kg"), above the certified version 3."""
    page = engineer.get(f"/app/footprints?product={reruns['product_id']}").text
    assert calculations_listed(page) == [
        "Version 3",
        "Version 2",
        "Version 1",
        "↳ Monte Carlo rerun of version 1 (50 iterations)",
        "↳ Monte Carlo rerun of version 1 (60 iterations)",
    ]
    assert page.count("data-rerun") == 2


def test_a_reruns_page_is_headed_as_a_rerun_of_its_version(engineer, reruns):
    heading = re.search(
        r"<span [^>]*data-calculation>(.*?)</span>\s*</h1>",
        engineer.get(f"/app/footprints/{reruns['reruns'][1]}").text,
        re.S,
    )
    assert heading and " ".join(re.sub(r"<[^>]+>", " ", heading.group(1)).split()) == (
        "Monte Carlo rerun of version 1 (60 iterations)"
    )
    first = engineer.get(f"/app/footprints/{reruns['versions'][0]['footprint_id']}").text
    assert re.search(r"data-calculation>\s*Version 1\s*</span>", first)


def test_reruns_are_named_in_chinese(app, reruns):
    page = Browser(app, "acme-engineer", lang="zh-CN").get(f"/app/footprints?product={reruns['product_id']}").text
    assert calculations_listed(page)[2:] == [
        "第 1 版",
        "↳ 蒙特卡洛重算，第 1 版（50 次迭代）",
        "↳ 蒙特卡洛重算，第 1 版（60 次迭代）",
    ]


def test_the_list_is_searched_by_product_name_and_model(engineer, acme):
    """The flat-glass example's model is searched in any case; a search that matches nothing says so."""
    model = load_example("flat-glass-hebei-2023.json")["product"]["model"]
    page = engineer.get("/app/footprints", params={"q": model.upper()}).text
    assert f'data-footprint="{acme["glass"]["footprint_id"]}"' in page
    assert acme["cement"]["id"] not in page
    nothing = engineer.get("/app/footprints", params={"q": "no such product 100%_"})
    assert nothing.status_code == 200 and "No footprint matches these filters." in nothing.text


def test_the_list_is_filtered_by_pcr_reference_year_and_label(engineer, acme, reruns):
    glass = engineer.get("/app/footprints", params={"pcr": "PCR-CN-FLATGLASS"}).text
    assert set(re.findall(r'data-footprint="([^"]+)"', glass)) == {acme["glass"]["footprint_id"]}
    assert "No footprint matches" in engineer.get("/app/footprints", params={"year": "2022"}).text
    assert acme["glass"]["footprint_id"] in engineer.get("/app/footprints", params={"year": "2023"}).text
    labelled = engineer.get("/app/footprints", params={"label": "in_force"}).text
    listed = set(re.findall(r'data-footprint="([^"]+)"', labelled))
    assert {acme["cement"]["id"], reruns["versions"][2]["footprint_id"]} <= listed
    assert acme["glass"]["footprint_id"] not in listed
    unlabelled = engineer.get("/app/footprints", params={"label": "none"}).text
    assert acme["cement"]["id"] not in unlabelled and acme["glass"]["footprint_id"] in unlabelled


def totals_listed(page: str) -> list[float]:
    cells = re.findall(r'data-label="Total per declared unit"><strong>([\d,.]+)</strong>', page)
    return [float(cell.replace(",", "")) for cell in cells]


def test_the_list_is_ordered_by_total(engineer, acme):
    """Lowest first and highest first: the same footprints, each order the other reversed."""
    ascending = totals_listed(engineer.get("/app/footprints", params={"sort": "total_asc"}).text)
    descending = totals_listed(engineer.get("/app/footprints", params={"sort": "total_desc"}).text)
    assert len(ascending) > 3 and ascending == sorted(ascending)
    assert descending == sorted(ascending, reverse=True)


def test_the_next_page_keeps_the_filters(engineer, acme, reruns, monkeypatch):
    from footprint_api.services import dashboard

    monkeypatch.setattr(dashboard, "FOOTPRINTS_PER_PAGE", 2)
    page = engineer.get("/app/footprints", params={"product": reruns["product_id"], "sort": "newest"}).text
    assert f'href="/app/footprints?product={reruns["product_id"]}&amp;sort=newest&amp;page=2" rel="next"' in page
    second = engineer.get("/app/footprints", params={"product": reruns["product_id"], "sort": "newest", "page": 2})
    assert len(calculations_listed(second.text)) == 2 and "Page 2 of 3 (5 in all)" in second.text


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("year", "twenty", "参考年份应为 1900 至 2200 之间的年份。"),
        ("year", "99999", "参考年份应为 1900 至 2200 之间的年份。"),
        ("product", "not-a-product", "无法识别该产品，请从列表中选择。"),
        ("label", "revoked", "标识筛选只能选择"),
        ("sort", "name; drop table", "无法识别该排序方式，请从列表中选择。"),
        ("q", "x" * 101, "搜索内容不能超过 100 个字符。"),
        ("page", "0", "页码应为 1 至 100,000 之间的整数。"),
    ],
)
def test_a_filter_that_cannot_be_read_is_named_at_its_field_in_the_readers_language(app, acme, field, value, message):
    response = Browser(app, "acme-engineer", lang="zh-CN").get("/app/footprints", params={field: value})
    assert response.status_code == 422
    assert message in response.text
    if field != "page":
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', response.text)
    assert "data-footprints" in response.text  # the list, without the field that could not be read


# --- isolation --------------------------------------------------------------------------------------------------


def cases(acme) -> dict[tuple[str, str], tuple[str, dict | None, str | None]]:
    """(method, route) -> (url aimed at acme's objects, form fields for a POST, the page whose form token to use)."""
    footprint = acme["cement"]["id"]
    job = acme["monte_carlo"]["id"]
    return {
        ("GET", "/app/dashboard"): ("/app/dashboard", None, None),
        ("POST", "/app/jobs"): ("/app/jobs", {"inventory_id": acme["first"]["inventory_id"]}, "/app/dashboard"),
        ("GET", "/app/jobs/{job_id}"): (f"/app/jobs/{job}", None, None),
        ("GET", "/app/jobs/{job_id}/status"): (f"/app/jobs/{job}/status", None, None),
        ("GET", "/app/footprints"): ("/app/footprints", None, None),
        ("GET", "/app/footprints/compare"): (
            f"/app/footprints/compare?a={acme['first']['footprint_id']}&b={acme['second']['footprint_id']}",
            None,
            None,
        ),
        ("GET", "/app/footprints/{footprint_id}"): (f"/app/footprints/{footprint}", None, None),
        ("POST", "/app/footprints/{footprint_id}/monte-carlo"): (
            f"/app/footprints/{footprint}/monte-carlo",
            {"monte_carlo_iterations": "10"},
            "/app/dashboard",
        ),
        ("GET", "/app/footprints/{footprint_id}/report.pdf"): (f"/app/footprints/{footprint}/report.pdf", None, None),
        ("GET", "/app/footprints/{footprint_id}/cbam.{fmt}"): (f"/app/footprints/{footprint}/cbam.csv", None, None),
        ("GET", "/app/products/{product_id}/history"): (
            f"/app/products/{acme['first']['product_id']}/history",
            None,
            None,
        ),
    }


# Routes that show only the caller's own organisation (nothing of acme's to reach): rival sees its own page (200)
OWN_ONLY = {("GET", "/app/dashboard"), ("GET", "/app/footprints")}


def routes():
    from footprint_api.web.routes.manufacturer import router

    return sorted((method, route.path) for route in router.routes for method in route.methods)


def test_every_route_of_the_router_has_an_isolation_case(acme):
    assert set(routes()) == set(cases(acme)), "a route without an isolation case (or a case without a route)"


def request(browser: Browser, url: str, form: dict | None, form_page: str | None):
    if form is None:
        return browser.get(url)
    return browser.client.post(url, data={**form, "csrf_token": csrf_of(browser.get(form_page).text)})


@pytest.mark.parametrize("route", routes())
def test_another_manufacturer_gets_404_and_a_certification_body_403(app, acme, route):
    url, form, form_page = cases(acme)[route]
    rival_response = request(Browser(app, "rival-engineer"), url, form, form_page)
    if route in OWN_ONLY:
        assert rival_response.status_code == 200
        assert acme["cement"]["id"] not in rival_response.text and acme["label"]["number"] not in rival_response.text
    else:
        assert rival_response.status_code == 404, (route, rival_response.status_code)
    verifier = Browser(app, "cb-verifier")
    page = form_page and "/app/review"  # a verifier's own page carries its form token
    response = request(verifier, url, form, page)
    assert response.status_code == 403, (route, response.status_code)


def test_pages_need_a_session(app, acme):
    response = Browser(app).get(f"/app/footprints/{acme['cement']['id']}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# --- long lists (last: adds many products) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/app/dashboard?page=0", "/app/dashboard?page=x", "/app/footprints?page=-1", "/app/footprints?page=1000001"]
)
def test_a_page_number_out_of_bounds_is_a_clear_422(engineer, url):
    response = engineer.get(url)
    assert response.status_code == 422 and "page" in response.text


def test_the_dashboard_lists_products_fifty_to_a_page(world, engineer, acme):
    from footprint_api.services.dashboard import PRODUCTS_PER_PAGE

    for n in range(PRODUCTS_PER_PAGE):
        world.product("acme-engineer", "PCR-CN-STEEL", f"zz steel {n:03d}")
    first, second = engineer.get("/app/dashboard").text, engineer.get("/app/dashboard?page=2").text
    assert 'href="/app/dashboard?page=2" rel="next"' in first and "zz steel 049" not in first
    assert "zz steel 049" in second and 'href="/app/dashboard?page=1" rel="prev"' in second
    assert first.count("<tr data-product=") == PRODUCTS_PER_PAGE
