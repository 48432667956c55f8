"""The manufacturer's pages without a browser: the dashboard shows the organisation's own products, footprints and
labels; a calculation is a job with a live status; the footprint page shows every part of the stored result; the
report and the CBAM export download through the page routes; two versions compare; every route isolates."""

import io
import re
import uuid

import openpyxl
import pytest

from footprint_api.web.routes.manufacturer import number
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


def test_footprints_of_different_products_are_not_compared(engineer, acme):
    response = engineer.get(
        f"/app/footprints/compare?a={acme['glass']['footprint_id']}&b={acme['second']['footprint_id']}"
    )
    assert response.status_code == 422


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
