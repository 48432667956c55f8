"""A product over time: its page (/app/products/{id}/history) draws the figure of each inventory version as a chart
the server draws (SVG, no script) and lists every calculation, label and inventory version; the chart's geometry is
hand arithmetic on its fixed frame."""

import re
import uuid
from datetime import UTC, datetime
from html import unescape
from urllib.parse import unquote

import pytest

from footprint_api.services.dashboard import FootprintRow, HistoryPoint, _points
from footprint_api.web.routes.manufacturer import CHART, _ticks, history_chart
from tests.labelling import act, calculated_footprint
from tests.web_client import Browser

# --- the chart's geometry -------------------------------------------------------------------------------------------


def test_the_value_axis_runs_in_round_steps():
    """0 to 784.97 in about four steps: 784.97 / 4 = 196.2, rounded up to 2 x 10^2 = 200; 784.97 / 200 = 3.92, so
    four steps above 0 reach 800. 748.5 to 770.0: 21.5 / 4 = 5.4, rounded up to 10, from 740 (below 748.5) to 770.
    One figure alone (784.97): its own size as the span, 784.97 / 4 = 196.2 -> 200, from 600 to 800."""
    assert _ticks(0.0, 784.97) == [0, 200, 400, 600, 800]
    assert _ticks(0.0, 11_215.3) == [0, 5_000, 10_000, 15_000]  # 11,215.3 / 4 = 2,803.8 -> 5 x 10^3
    assert _ticks(748.5, 770.0) == [740, 750, 760, 770]
    assert _ticks(784.97, 784.97) == [600, 800]


def point(version: int, total: float, label: str | None = None) -> HistoryPoint:
    return HistoryPoint(version, 2023, total, "1 t", uuid.uuid4(), "PCF-2025-000001-1" if label else None, label)


def test_each_version_is_drawn_at_its_value_and_place():
    """Frame 640 x 260, plot from x 64 to 624 (560 wide) and y 40 to 212 (172 high). The figures 700 and 784.97
    span 84.97: 84.97 / 4 = 21.2, rounded up to 5 x 10 = 50, so the axis runs 700, 750, 800.
    Two versions share 560 in two slots of 280: x = 64 + 140 = 204 and 64 + 420 = 484.
    y(784.97) = 40 + 172 x (1 - 84.97 / 100) = 40 + 25.85 = 65.9; y(700) = 40 + 172 = 212.0; the label's 700.0
    sits where the footprint of version 2 does."""
    assert (CHART["width"], CHART["height"], CHART["left"], CHART["right"], CHART["top"], CHART["bottom"]) == (
        640,
        260,
        64,
        16,
        40,
        48,
    )
    chart = history_chart([point(1, 784.97), point(2, 700.0, label="700.0")])
    assert [(d["x"], d["y"], d["label_y"]) for d in chart["points"]] == [(204.0, 65.9, None), (484.0, 212.0, 212.0)]
    assert chart["line"] == "204.0,65.9 484.0,212.0"
    ticks = [(tick["text"], tick["y"]) for tick in chart["ticks"]]
    assert ticks == [("700", 212.0), ("750", 126.0), ("800", 40.0)]  # 40 + 172 x (1 - 50 / 100) = 126


def test_there_is_no_chart_without_a_footprint():
    assert history_chart([]) is None


def row(version: int, declared_unit: str, minute: int, label: str | None = None) -> FootprintRow:
    return FootprintRow(
        uuid.uuid4(), uuid.uuid4(), "p", None, uuid.uuid4(), version, 1, 0, 2023, "PCR-CN-CEMENT", "1.0.0",
        700.0 + version, declared_unit, datetime(2025, 1, 1, 0, minute, tzinfo=UTC), label, None, None, None,
    )  # fmt: skip


def test_versions_in_another_declared_unit_than_the_latest_are_counted_not_drawn():
    """Version 1 was declared per 1 kg, versions 2 and 3 per 1 t: 700 kg CO2e per kg and per t do not share an axis."""
    points, left_off = _points([row(3, "1 t", 3), row(2, "1 t", 2), row(1, "1 kg", 1)], [])
    assert [p.version for p in points] == [2, 3] and left_off == 1


def test_a_version_is_drawn_by_its_latest_calculation():
    earlier, later = row(1, "1 t", 1), row(1, "1 t", 9)
    points, _ = _points([earlier, later], [])
    assert [p.footprint_id for p in points] == [later.footprint_id]


# --- the page -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(world):
    return world.client.app


@pytest.fixture(scope="module")
def history(world):
    """Cement: version 1 (1,640,000 t clinker), version 2 (1,560,000 t), version 2 certified, then a Monte Carlo
    rerun of version 1 (40 iterations)."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"0.amount": 1_560_000})
    application = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": second["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    ).json()["id"]
    for user, action in (
        ("acme-engineer", "submit"),
        ("cb-verifier", "start_review"),
        ("cb-verifier", "approve"),
        ("cb-verifier", "issue_label"),
    ):
        assert act(world, user, application, action).status_code == 200, action
    label = next(
        x for x in world.call("cb-verifier", "GET", "/api/v1/labels").json() if x["application_id"] == application
    )
    rerun = world.calculate("acme-engineer", first["inventory_id"], monte_carlo_iterations=40, seed=5)
    totals = [
        world.call("acme-engineer", "GET", f"/api/v1/footprints/{f['footprint_id']}").json()["total_kg_co2e"]
        for f in (first, second)
    ]
    return {"product_id": first["product_id"], "label": label, "totals": totals, "rerun": rerun["footprint_id"]}


def visible(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def charts_of(page: str) -> dict[str, str]:
    """The chart's SVG documents by the width they are for: the image's (desktop) and the phone's source."""
    found = re.search(r"<div [^>]*data-history-chart>(.*?)</div>", page, re.S).group(1)
    phone = re.search(
        r'<source media="\(max-width: 700px\)"[^>]*srcset="data:image/svg\+xml;charset=utf-8,([^"]+)"', found
    )
    wide = re.search(r'<img src="data:image/svg\+xml;charset=utf-8,([^"]+)"[^>]*alt="([^"]*)"', found)
    return {"phone": unquote(phone.group(1)), "wide": unquote(wide.group(1)), "alt": unescape(wide.group(2))}


def test_the_page_draws_each_version_and_lists_every_calculation(app, history):
    page = Browser(app, "acme-engineer").get(f"/app/products/{history['product_id']}/history")
    assert page.status_code == 200
    charts = charts_of(page.text)
    for svg in (charts["wide"], charts["phone"]):
        assert svg.startswith("<svg xmlns=") and "<script" not in svg
        assert re.findall(r'<g data-version="(\d+)">', svg) == ["1", "2"]
    assert 'width="640"' in charts["wide"] and 'width="320"' in charts["phone"]
    first, second = (f"{total:,.1f}" for total in history["totals"])  # four significant digits: 785.0, 7xx.x
    alt = charts["alt"]
    assert f"version 1 (reference year 2023): {first} kg CO2e / 1 t" in alt
    assert f"version 2 (reference year 2023): {second} kg CO2e / 1 t" in alt
    assert f"on the label {history['label']['value']}" in alt
    table = re.search(r"<table [^>]*data-history-footprints.*?</table>", page.text, re.S).group(0)
    rows = [visible(cell) for cell in re.findall(r'<th scope="row">(.*?)</th>', table, re.S)]
    assert rows == ["Version 2", "Version 1", "↳ Monte Carlo rerun of version 1 (40 iterations)"]
    assert history["label"]["number"] in re.search(r"data-history-labels.*?</table>", page.text, re.S).group(0)
    versions = re.search(r"data-history-versions.*?</table>", page.text, re.S).group(0)
    assert len(re.findall(r'<tr><th scope="row">', versions)) == 2


def test_the_page_in_chinese_says_everything_in_chinese(app, history):
    page = Browser(app, "acme-engineer", lang="zh-CN").get(f"/app/products/{history['product_id']}/history").text
    main = visible(re.search(r"<main[^>]*>(.*?)</main>", page, re.S).group(1))
    assert "各清单版本的碳足迹" in main and "↳ 蒙特卡洛重算，第 1 版（40 次迭代）" in main
    product_data = ("Ordinary Portland cement", "P.O 42.5 (GB 175)", history["label"]["number"])
    identifiers = ("PCR-CN-CEMENT", "kg CO2e", "（PCR）", "(UTC+8)", "API")  # the inventory came through the API
    for allowed in (*product_data, *identifiers):
        main = main.replace(allowed, " ")
    assert re.findall(r"[A-Za-z]{3,}", main) == [], main


def test_the_dashboard_the_list_and_the_footprint_page_link_the_history(app, history):
    engineer = Browser(app, "acme-engineer")
    link = f'href="/app/products/{history["product_id"]}/history"'
    assert link in engineer.get("/app/dashboard").text
    assert link in engineer.get("/app/footprints", params={"product": history["product_id"]}).text
    assert link in engineer.get(f"/app/footprints/{history['rerun']}").text


def test_a_product_without_footprints_says_so(world, app):
    product = world.product("acme-engineer", "PCR-CN-CEMENT", "cement not yet calculated")
    page = Browser(app, "acme-engineer").get(f"/app/products/{product['id']}/history")
    assert page.status_code == 200 and "No footprint of this product yet." in page.text
    assert "data-history-chart" not in page.text


def test_another_organisations_product_or_none_is_not_found(app, history):
    assert Browser(app, "rival-engineer").get(f"/app/products/{history['product_id']}/history").status_code == 404
    assert Browser(app, "acme-engineer").get(f"/app/products/{uuid.uuid4()}/history").status_code == 404
