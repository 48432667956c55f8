"""The lists of products, facilities and inventories scale: found by search, narrowed by filters, sorted, in pages
of a bounded size; a page number, size or sort key the list does not know falls back to its default (never a
500); a facility's page lists the products made there; no list shows another organisation's rows."""

import re
import uuid
from html import unescape

import pytest

from footprint_api.services.catalogue import DEFAULT_PAGE_SIZE
from tests.conftest import load_example
from tests.labelling import unique_serials
from tests.test_web_inventory import app, cement_form, engineer, error_summary  # noqa: F401 (fixtures)
from tests.web_client import Browser


@pytest.fixture(scope="module")
def chinese(app):
    return Browser(app, "acme-engineer", lang="zh")


def token() -> str:
    return uuid.uuid4().hex[:8]


def product(world, name: str, pcr_id: str = "PCR-CN-CEMENT", user: str = "acme-engineer", **fields) -> dict:
    response = world.call(user, "POST", "/api/v1/products", json={"name": name, "pcr_id": pcr_id, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def facility(world, name: str, province: str = "Guizhou") -> dict:
    response = world.call("acme-engineer", "POST", "/api/v1/facilities", json={"name": name, "province": province})
    assert response.status_code == 201, response.text
    return response.json()


def names_in(html: str, heading_id: str) -> list[str]:
    """The first cell of each row of the table the heading `heading_id` names, in the order shown."""
    section = re.search(rf'<h2 id="{heading_id}".*?</section>', html, re.S).group(0)
    rows = re.findall(r"<tbody>(.*?)</tbody>", section, re.S)
    cells = re.findall(r"<tr>\s*<td[^>]*>(.*?)</td>", rows[0], re.S) if rows else []
    return [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def products_shown(browser, **query) -> list[str]:
    response = browser.get("/app/products", params=query)
    assert response.status_code == 200, response.text
    return names_in(response.text, "products-h")


# --- products --------------------------------------------------------------------------------------------------------


def test_products_are_found_by_name_model_or_gtin(world, engineer):
    """A GTIN-13 is stored as GTIN-14 with a leading zero: searched either way, it is found."""
    mark = token()
    product(world, f"OPC {mark}")
    product(world, "slag cement", model=f"P.S.A {mark}")
    product(world, f"barcoded {token()}", gtin="6901234567892")
    assert sorted(products_shown(engineer, q=mark)) == [f"OPC {mark}", "slag cement"]
    assert products_shown(engineer, q=mark.upper()) == products_shown(engineer, q=mark)  # case does not matter
    for typed in ("6901234567892", "06901234567892"):
        assert any(name.startswith("barcoded") for name in products_shown(engineer, q=typed)), typed


def test_a_search_text_is_taken_literally(world, engineer):
    """`%` and `_` are searched for, not wildcards that find everything."""
    mark = token()
    product(world, f"50%_grade {mark}")
    assert products_shown(engineer, q="50%_grade") == [f"50%_grade {mark}"]
    assert products_shown(engineer, q=f"%{mark}") == []


def test_products_are_filtered_by_pcr(world, engineer):
    mark = token()
    product(world, f"cement {mark}")
    product(world, f"steel {mark}", "PCR-CN-STEEL")
    assert products_shown(engineer, q=mark, pcr="PCR-CN-STEEL") == [f"steel {mark}"]


def test_products_are_sorted_by_name_either_way(world, engineer):
    mark = token()
    for letter in "bca":
        product(world, f"{mark} {letter}")
    assert products_shown(engineer, q=mark, sort="name") == [f"{mark} a", f"{mark} b", f"{mark} c"]
    assert products_shown(engineer, q=mark, sort="-name") == [f"{mark} c", f"{mark} b", f"{mark} a"]


def test_products_come_in_pages_of_a_bounded_size(world, engineer):
    """12 products in pages of 10: 10 on page 1, 2 on page 2 (page 99 shows the last, page 0 the first)."""
    mark = token()
    for number in range(12):
        product(world, f"{mark} {number:02d}")
    first = products_shown(engineer, q=mark, sort="name", size="10")
    assert first == [f"{mark} {n:02d}" for n in range(10)]
    assert products_shown(engineer, q=mark, sort="name", size="10", page="2") == [f"{mark} 10", f"{mark} 11"]
    assert products_shown(engineer, q=mark, sort="name", size="10", page="99") == [f"{mark} 10", f"{mark} 11"]
    assert products_shown(engineer, q=mark, sort="name", size="10", page="0") == first
    page = engineer.get("/app/products", params={"q": mark, "size": "10"}).text
    assert "12 product(s) · page 1 of 2" in page and 'rel="next"' in page and 'rel="prev"' not in page


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": "9" * 40},
        {"size": "100000"},
        {"size": "x"},
        {"sort": "bogus"},
        {"sort": "name; drop table product"},
        {"pcr": "PCR-NOPE"},
        {"q": "x" * 5000},
        {"f_page": "abc", "f_sort": "?", "f_size": "0"},
    ],
)
def test_a_page_size_or_sort_the_list_does_not_know_falls_back_to_its_default(engineer, query):
    response = engineer.get("/app/products", params=query)
    assert response.status_code == 200


def test_a_page_is_never_longer_than_the_largest_size(world, engineer):
    """Asked for 100,000 rows a page, the list shows its default of 25."""
    mark = token()
    for number in range(DEFAULT_PAGE_SIZE + 1):
        product(world, f"{mark} {number:02d}")
    assert len(products_shown(engineer, q=mark, size="100000")) == DEFAULT_PAGE_SIZE


def test_another_organisations_products_are_never_listed(world, engineer):
    mark = token()
    product(world, f"theirs {mark}", user="rival-engineer")
    assert products_shown(engineer, q=mark) == []


# --- facilities ------------------------------------------------------------------------------------------------------


def facilities_shown(browser, **query) -> list[str]:
    response = browser.get("/app/products", params=query)
    assert response.status_code == 200
    return names_in(response.text, "facilities-h")


def test_facilities_are_found_by_name_or_by_province_in_either_language(world, engineer):
    mark = token()
    facility(world, f"float line {mark}", "Hebei")
    facility(world, f"kiln {mark}", "Guizhou")
    assert facilities_shown(engineer, f_q=f"line {mark}") == [f"float line {mark}"]
    for typed in ("河北", "Hebei", "河北省"):
        shown = facilities_shown(engineer, f_q=typed)
        assert f"float line {mark}" in shown and f"kiln {mark}" not in shown, typed
    assert f"kiln {mark}" in facilities_shown(engineer, f_province="Guizhou")


def test_the_product_filters_keep_the_facility_list_where_it_was(world, engineer):
    """Each list's filter form carries the other list's search, so that narrowing one does not reset the other."""
    page = engineer.get("/app/products", params={"f_q": "kiln", "q": "cement"}).text
    product_form = re.search(r'<form[^>]*id="product-filters".*?</form>', page, re.S).group(0)
    facility_form = re.search(r'<form[^>]*id="facility-filters".*?</form>', page, re.S).group(0)
    assert '<input type="hidden" name="f_q" value="kiln">' in product_form
    assert '<input type="hidden" name="q" value="cement">' in facility_form


def test_a_facility_page_lists_the_products_made_there_with_their_latest_version(world, engineer, chinese):
    """Two products' inventories name the kiln (one of them twice), a third names another plant: the kiln's page
    lists the two, the first at version 2."""
    mark = token()
    kiln, other = facility(world, f"kiln {mark}"), facility(world, f"mill {mark}")
    made = [product(world, f"{mark} OPC"), product(world, f"{mark} PSA")]
    elsewhere = product(world, f"{mark} elsewhere")
    for target, place in ((made[0], kiln), (made[0], kiln), (made[1], kiln), (elsewhere, other)):
        fields = cement_form(target["id"], place["id"])
        response = engineer.post_form("/app/inventories/new", "/app/inventories", fields)
        assert response.status_code == 303, error_summary(response.text)
    page = engineer.get(f"/app/facilities/{kiln['id']}").text
    assert names_in(page, "made-h") == [f"{mark} OPC", f"{mark} PSA"]
    table = re.search(r'<h2 id="made-h".*?</section>', page, re.S).group(0)
    rows = re.findall(r"<tr>.*?</tr>", table.split("<tbody>")[1], re.S)
    assert ">version 2<" in rows[0] and ">version 1<" in rows[1]
    assert f'href="/app/facilities/{kiln["id"]}"' in engineer.get("/app/products").text  # linked from the list
    assert "本厂生产的产品" in chinese.get(f"/app/facilities/{kiln['id']}").text


# --- inventories -----------------------------------------------------------------------------------------------------


def inventory_rows(browser, **query) -> list[tuple[str, str, str]]:
    """(product, version, source) of each row of the inventory list, in the order shown."""
    response = browser.get("/app/inventories", params=query)
    assert response.status_code == 200, response.text
    section = re.search(r'<h2 id="list-h".*?</section>', response.text, re.S).group(0)
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]:
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        found.append((cells[0], cells[1], cells[4]))
    return found


@pytest.fixture(scope="module")
def inventories(world, engineer):
    """One product with a version from the form and one from the API (2023), and a steel product from the API."""
    mark = token()
    kiln = facility(world, f"kiln {mark}")
    cement = product(world, f"{mark} cement")
    response = engineer.post_form("/app/inventories/new", "/app/inventories", cement_form(cement["id"], kiln["id"]))
    assert response.status_code == 303, error_summary(response.text)
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    assert world.submit("acme-engineer", cement["id"], data).status_code == 201
    steel = product(world, f"{mark} steel", "PCR-CN-STEEL")
    assert world.submit("acme-engineer", steel["id"], unique_serials(load_example("steel-hebei-bfbof-2023.json")))
    return {"mark": mark, "cement": cement, "steel": steel}


def test_inventories_are_found_by_product_newest_first(engineer, inventories):
    mark = inventories["mark"]
    assert inventory_rows(engineer, q=mark) == [
        (f"{mark} steel", "1", "API"),
        (f"{mark} cement", "2", "API"),
        (f"{mark} cement", "1", "web form"),
    ]


def test_inventories_are_filtered_by_product_pcr_year_and_source(engineer, inventories):
    mark, cement = inventories["mark"], inventories["cement"]
    assert [r[1] for r in inventory_rows(engineer, product=cement["id"])] == ["2", "1"]
    assert [r[0] for r in inventory_rows(engineer, q=mark, pcr="PCR-CN-STEEL")] == [f"{mark} steel"]
    assert inventory_rows(engineer, q=mark, source="form") == [(f"{mark} cement", "1", "web form")]
    assert len(inventory_rows(engineer, q=mark, year="2023")) == 3
    assert inventory_rows(engineer, q=mark, year="2019") == []


def test_inventories_are_sorted_by_product_or_oldest_first(engineer, inventories):
    mark = inventories["mark"]
    assert [r[:2] for r in inventory_rows(engineer, q=mark, sort="product")] == [
        (f"{mark} cement", "2"),
        (f"{mark} cement", "1"),
        (f"{mark} steel", "1"),
    ]
    assert inventory_rows(engineer, q=mark, sort="created")[0][:2] == (f"{mark} cement", "1")


@pytest.mark.parametrize(
    "query",
    [{"product": "not-a-uuid"}, {"year": "20x3"}, {"source": "fax"}, {"sort": "';--"}, {"page": "-5"}, {"size": "0"}],
)
def test_an_inventory_filter_the_list_does_not_know_is_ignored(engineer, inventories, query):
    assert inventory_rows(engineer, q=inventories["mark"], **query)[:1] == [
        (f"{inventories['mark']} steel", "1", "API")
    ]


def test_the_filters_are_in_chinese_on_a_chinese_page(chinese, inventories):
    page = unescape(chinese.get("/app/inventories", params={"q": inventories["mark"]}).text)
    assert "共 3 个清单版本" in page and "核算年份" in page and "网页表单" in page


def test_a_product_row_links_its_inventories_and_its_footprints_over_time(world, engineer):
    made = product(world, f"linked {token()}")
    row = next(r for r in re.findall(r"<tr>.*?</tr>", engineer.get("/app/products").text, re.S) if made["name"] in r)
    for href in (f"/app/inventories?product={made['id']}", f"/app/products/{made['id']}/history"):
        assert f'href="{href}"' in row, href
        assert engineer.get(href).status_code == 200, href


# --- the same lists over the JSON API ----------------------------------------------------------------------------


def test_the_json_lists_page_and_search_when_asked_and_stay_whole_otherwise(world):
    """Three products named 'json list {tag} a/b/c': `q` finds the three, `size=10` pages them with
    X-Total-Count 3, `sort=name` orders them a, b, c; without a query parameter the whole list comes back as before
    (at least those three, no header). A page size above 100 or a page 0 is a 422 naming the parameter."""
    tag = uuid.uuid4().hex[:8]
    for suffix in ("c", "a", "b"):
        assert world.product("acme-engineer", "PCR-CN-CEMENT", f"json list {tag} {suffix}")["id"]
    found = world.call("acme-engineer", "GET", "/api/v1/products", params={"q": f"json list {tag}", "sort": "name"})
    assert found.status_code == 200 and found.headers["X-Total-Count"] == "3"
    assert [p["name"][-1] for p in found.json()] == ["a", "b", "c"]
    whole = world.call("acme-engineer", "GET", "/api/v1/products")
    assert "X-Total-Count" not in whole.headers and len(whole.json()) >= 3
    for bad, field in (({"size": 101}, "size"), ({"page": 0}, "page")):
        refused = world.call("acme-engineer", "GET", "/api/v1/products", params=bad)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    inventories = world.call("acme-engineer", "GET", "/api/v1/inventories", params={"size": 10, "source": "excel"})
    assert inventories.status_code == 200 and all(i["source"] == "excel" for i in inventories.json())
    assert world.call("acme-engineer", "GET", "/api/v1/inventories", params={"source": "fax"}).status_code == 422
