"""Every page of the manufacturer, verifier, certification-body, platform-admin, PCR-committee and public parts, read
in Chinese, has no English sentence outside the product data, people's and organisations' names and standard
identifiers.

The service runs with the demo data (`services.demo.seed`: six examples calculated, certified and labelled) plus
what a working week adds (a corrected inventory, an application in review with a finding, a Monte Carlo rerun, a
suspended and a revoked label). Each role signs in through the form with a Chinese browser (Accept-Language zh-CN)
and a crawler follows every link of its part from its start pages, GET only; the pages no link reaches are listed
by `_week_of_work`. The visible text of each page is read (no <script>/<style>, but the title, aria-label,
placeholder and alt attributes, button values, and the strings of the JSON a chart or a script shows), and every
run of three or more English words is reported, page by page, unless the allow-list below names it.
"""

import json
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

from footprint_api.services.demo import DEMO_ORGANISATIONS
from pcr_rules import examples
from tests.conftest import load_example

# --- what may be English on a Chinese page ---------------------------------------------------------------------------


def _demo_product_data() -> list[str]:
    """The demo's product data as the manufacturer typed it (pcr_rules/examples): product names and models, the
    manufacturer and the facility. A manufacturer's own data is shown as entered, in whichever language."""
    terms = []
    for path in examples.paths():
        data = load_example(path.name)
        terms += [data["product"]["name"], data["product"].get("model") or "", data.get("manufacturer") or ""]
        terms += [data["facility"]["name"]]
    return [term for term in terms if term]


# Names of the demo's organisations and people (services.demo.DEMO_ORGANISATIONS): names, not sentences.
DEMO_NAMES = [name for name, _, _ in DEMO_ORGANISATIONS] + [
    person for _, _, users in DEMO_ORGANISATIONS for _, person, _ in users
]
# Standard identifiers (GB/T 24067-2024, ISO 14067, IPCC AR6, PCR-CN-CEMENT, GTIN, CBAM) and unit symbols (kg CO2e/t,
# MWh) need no entry: a word with two capitals, digits or hyphens is no English word to the reader below.
# Names in an imported background database (`_background_databases`): activities, products, flows and their
# compartments as the database writes them (ecoinvent's are English), data like a manufacturer's product names.
BACKGROUND_DATA = [
    "clinker production, Portland",
    "clinker, Portland",
    "electricity production, hard coal",
    "electricity, high voltage",
    "transport, freight, lorry 16-32 metric ton",
    "transport, freight, lorry",
    "urban air close to ground",
    "Unobtainium hexafluoride",
    "kiln heat recovery",
    "no production exchange",
]
ALLOWED = sorted({*_demo_product_data(), *DEMO_NAMES, *BACKGROUND_DATA}, key=len, reverse=True)

# --- reading a page ---------------------------------------------------------------------------------------------------

BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "button", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "html", "input", "label", "legend", "li", "main", "nav", "ol", "optgroup", "option", "p", "pre", "section",
    "select", "summary", "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "ul",
}  # fmt: skip
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
BREAK = "\n¦\n"  # between blocks and attributes: words of two cells are no sentence
CHINESE = re.compile(r"[\u3400-\u9fff]")


class PageText(HTMLParser):
    """The texts a person reads or hears on a page: visible text by block, the attributes read out or shown on
    hover, the labels of input buttons, and the strings of JSON data blocks (chart options, script messages).

    Text an element declares to be in another language (`lang="en"`) is a translation shown beside the Chinese, as
    the PCR document names each heading in both languages: it is left out where its block has Chinese text too,
    and read like any other text where it stands alone."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._block: list[str] = []
        self._beside: list[str] = []  # text declared in another language, in the current block
        self._foreign: list[tuple[str, int]] = []  # open elements of another language: (tag, nesting)
        self._skipping: str | None = None
        self._json: list[str] | None = None

    def _end_block(self):
        native = "".join(self._block)
        self.parts += [BREAK, native, BREAK]
        if not CHINESE.search(native):
            self.parts += [*self._beside, BREAK]
        self._block, self._beside = [], []

    def _add(self, text: str):
        (self._beside if self._foreign else self._block).append(text)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("script", "style"):
            if tag == "script" and (values.get("type") or "").endswith("json"):
                self._json = []
            self._skipping = tag
            return
        if tag in BLOCKS:
            self._end_block()
        elif tag == "br":  # a line break ends a sentence, not the block its lines share
            self._add(BREAK)
        if self._foreign and self._foreign[-1][0] == tag:
            self._foreign[-1] = (tag, self._foreign[-1][1] + 1)
        elif values.get("lang") and not values["lang"].lower().startswith("zh") and tag not in VOID:
            self._foreign.append((tag, 1))
        for name in ATTRIBUTES:
            if values.get(name):
                self._add(f"{BREAK}{values[name]}{BREAK}")
        if tag == "input" and values.get("type") in ("submit", "button", "reset") and values.get("value"):
            self._add(f"{BREAK}{values['value']}{BREAK}")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == self._skipping:
            if self._json is not None:
                self.parts += [BREAK, *json_strings("".join(self._json))]
            self._skipping, self._json = None, None
            return
        if self._foreign and self._foreign[-1][0] == tag:
            tag_, nesting = self._foreign.pop()
            if nesting > 1:
                self._foreign.append((tag_, nesting - 1))
        if tag in BLOCKS:
            self._end_block()

    def handle_data(self, data):
        if self._skipping:
            if self._json is not None:
                self._json.append(data)
            return
        self._add(data)

    def text(self) -> str:
        self._end_block()
        return "".join(self.parts)


def json_strings(text: str) -> list[str]:
    """The string values (not the keys) of a JSON document, each as its own text."""
    try:
        found = json.loads(text)
    except ValueError:
        return []
    strings: list[str] = []

    def walk(value):
        if isinstance(value, str):
            strings.extend([value, BREAK])
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(found)
    return strings


def visible_text(html: str) -> str:
    reader = PageText()
    reader.feed(html)
    reader.close()
    return reader.text()


# --- English sentences --------------------------------------------------------------------------------------------

# an English word: lower case, or capitalised; a token with two capitals (PCR, JSON, EdDSA, kWh, CaO) is an
# identifier, a unit or a formula, and a unit symbol written in lower case is no word either
WORD = re.compile(r"(?:[AI]|[A-Z]?[a-z]+)(?:['’][a-z]+)?")
UNIT_SYMBOLS = {"g", "kg", "t", "km", "m", "mm", "cm", "h", "d", "min", "s"}
EDGES = "\"'“”‘’()[]{}<>,.;:!?…*。，、；：！？（）《》「」【】"
NOT_WORDS = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?<!\w)/[\w/.{}:-]*")  # addresses, e-mails, paths
MIN_WORDS = 3
JOINERS = set("-–—/&")


def english_phrases(text: str, allowed: list[str] = ALLOWED) -> list[str]:
    """Runs of MIN_WORDS or more English words (ASCII letters only) in a text, after the allowed terms, web and
    e-mail addresses and paths are taken out. Anything else breaks a run: a Chinese character, a number, a code
    with digits, hyphens or underscores (PCR-CN-CEMENT, CO2e, GB/T 24067-2024, grid_electricity)."""
    for term in allowed:
        text = text.replace(term, BREAK)
    text = NOT_WORDS.sub(BREAK, text)
    phrases, run = [], []
    for token in re.split(r"[\s\u3000]+", text):
        core = token.strip(EDGES)
        if core and WORD.fullmatch(core) and core not in UNIT_SYMBOLS:
            run.append(core)
        elif run and token and set(token) <= JOINERS:
            continue  # a dash, a slash or an ampersand between words keeps a sentence going ("and/or", "A – B")
        else:
            if len(run) >= MIN_WORDS:
                phrases.append(" ".join(run))
            run = []
    if len(run) >= MIN_WORDS:
        phrases.append(" ".join(run))
    return phrases


def test_the_reader_finds_english_sentences_and_passes_identifiers():
    """The detector itself: English messages are found; identifiers, units, names and Chinese are not."""
    text = visible_text(
        "<title>核验 · Check a label</title><p>请检查 <b>Input should be</b> a valid date。</p>"
        '<td title="is outside the plausible range">GB/T 24067-2024</td><td>PCR-CN-CEMENT@1.1.0</td>'
        "<td>kg CO2e per t</td><td>Ordinary Portland cement</td><td>grid_electricity kiln_coal.ncv_gj_per_unit</td>"
        "<td>signed as EdDSA JWS JSON</td>"
        '<script>var a = "not shown to anyone at all";</script>'
        '<script type="application/json">{"name": "the median as a line", "type": "bar"}</script>'
        '<a href="https://example.org/a/b/c">https://example.org/a/b/c</a><p>Guizhou</p><p>South</p><p>Hebei</p>'
    )
    assert english_phrases(text) == [
        "Check a label",
        "Input should be a valid date",
        "is outside the plausible range",
        "the median as a line",
    ]


def test_a_translation_beside_the_chinese_is_no_english_sentence_but_one_alone_is():
    beside = (
        '<h2>系统边界 <span class="muted" lang="en">System boundary of the product</span></h2>'
        '<dl><dt>初级数据默认相对标准差<br><span class="muted" lang="en">Default relative SD of primary data</span></dt>'
        "<dd>2 %</dd></dl>"
    )
    alone = '<p class="lead" lang="en">Product category rules of cement</p><p>水泥</p>'
    assert english_phrases(visible_text(beside)) == []
    assert english_phrases(visible_text(alone)) == ["Product category rules of cement"]


# --- the service with the demo data -----------------------------------------------------------------------------------


@dataclass
class Demo:
    client: object
    passwords: dict[str, str]
    by_id: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, email: str) -> dict[str, str]:
        if email not in self.tokens:
            response = self.client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": self.passwords[email]},
            )
            assert response.status_code == 200, response.text
            self.tokens[email] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[email]}"}

    def call(self, email: str, method: str, url: str, expected: int = 200, **kwargs):
        response = self.client.request(method, url, headers=self.bearer(email), **kwargs)
        assert response.status_code == expected, (method, url, response.text)
        return response.json()

    def finished(self, job_id: str, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call(ENGINEER, "GET", f"/api/v1/jobs/{job_id}")
            if job["status"] in ("succeeded", "failed"):
                assert job["status"] == "succeeded", job
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


ENGINEER, MANUFACTURER_ADMIN, VERIFIER = (
    "engineer@manufacturer.example",
    "admin@manufacturer.example",
    "verifier@cb.example",
)
CB_ADMIN, PLATFORM_ADMIN = "admin@cb.example", "admin@pcf.example"
PCR_AUTHOR, PCR_CHAIR = "author@pcr.example", "chair@pcr.example"
BUYER, BUYER_ADMIN = "officer@buyer.example", "admin@buyer.example"
VISITOR = "visitor"
CB_NAME = "Demo Certification Body"
ROLES = (ENGINEER, MANUFACTURER_ADMIN, VERIFIER, CB_ADMIN, PLATFORM_ADMIN, PCR_AUTHOR, PCR_CHAIR, BUYER, BUYER_ADMIN)


def _week_of_work(demo: Demo) -> dict[str, list[str]]:
    """What a working week adds to the demo, with the pages only an id reaches: a corrected cement inventory in
    review with a finding, a Monte Carlo rerun, a suspended and a revoked label; pages that answer 404 or refuse a
    filter, in Chinese too."""
    from tests.labelling import unique_serials

    inventories = demo.call(ENGINEER, "GET", "/api/v1/inventories")
    cement = next(i for i in inventories if i["data"]["pcr"]["id"] == "PCR-CN-CEMENT")
    corrected = unique_serials(json.loads(json.dumps(cement["data"])))
    corrected["items"][2]["amount"] = 150_000_000  # the plant's meter read again: 150 GWh instead of 160 GWh
    second = demo.call(
        ENGINEER, "POST", "/api/v1/inventories", 201, json={"product_id": cement["product_id"], "inventory": corrected}
    )
    job = demo.call(ENGINEER, "POST", f"/api/v1/inventories/{second['id']}/calculations", 202, json={})
    footprint_id = demo.finished(job["id"])["footprint_id"]
    rerun = demo.call(
        ENGINEER,
        "POST",
        f"/api/v1/inventories/{cement['id']}/calculations",
        202,
        json={"monte_carlo_iterations": 200, "seed": 7},
    )
    demo.finished(rerun["id"])
    body_id = next(
        body["id"] for body in demo.call(VERIFIER, "GET", "/api/v1/certification-bodies") if body["name"] == CB_NAME
    )
    application = demo.call(
        ENGINEER,
        "POST",
        "/api/v1/applications",
        201,
        json={"footprint_id": footprint_id, "certification_body_id": body_id},
    )
    actions = f"/api/v1/applications/{application['id']}/actions"
    demo.call(ENGINEER, "POST", f"{actions}/submit", json={"comment": "电表读数已更正"})
    demo.call(VERIFIER, "POST", f"{actions}/start_review", json={"comment": "开始审核"})
    demo.call(
        VERIFIER,
        "POST",
        f"/api/v1/applications/{application['id']}/findings",
        201,
        json={"subject": "items[2]", "text": "请提供 2023 年外购电力的电费发票。"},
    )
    issued = {label["product_name"]: label["number"] for label in demo.call(VERIFIER, "GET", "/api/v1/labels")}
    steel = next(number for name, number in issued.items() if "steel" in name.lower())
    glass = next(number for name, number in issued.items() if "glass" in name.lower())
    demo.call(VERIFIER, "POST", f"/api/v1/labels/{steel}/actions/suspend", json={"comment": "连续监测数据待复核"})
    demo.call(VERIFIER, "POST", f"/api/v1/labels/{glass}/actions/revoke", json={"comment": "生产线已关停"})
    cement_label = next(number for name, number in issued.items() if "cement" in name.lower())
    application_id = application["id"]
    return {
        ENGINEER: [
            f"/app/inventories/{second['id']}",
            f"/app/jobs/{job['id']}",
            f"/app/jobs/{rerun['id']}",
            f"/app/footprints/{footprint_id}",
            f"/app/footprints/compare?a={_footprint_of(demo, cement['id'])}&b={footprint_id}",
            f"/app/applications/{application_id}",
            f"/app/footprints/{uuid.uuid4()}",  # an error page
        ],
        MANUFACTURER_ADMIN: [f"/app/applications/{application_id}"],
        VERIFIER: [f"/app/review/{application_id}", f"/app/review/{uuid.uuid4()}"],
        CB_ADMIN: [f"/app/review/{application_id}"],
        VISITOR: [
            f"/V/{steel}",
            f"/V/{glass}",
            f"/V/{cement_label}",
            "/V/PCF-2020-000000-A",  # no such label
            f"/compare/PCR-CN-CEMENT?label={cement_label}",
            f"/compare/PCR-CN-CEMENT?label={glass}",
            "/registry?validity=all",
            "/registry?province=贵州&validity=all",
            "/registry?min_kg_co2e=abc&max_kg_co2e=-1",
            "/pcrs?category=nothing",
            "/app/footprints",  # a visitor is sent to sign in
        ],
    }


def _background_databases() -> dict[str, list[str]]:
    """Background databases as an import leaves them (rows written straight into the tables; the import itself is
    tests/test_background_import.py's): a version in use with its activities, one that needs attention with its
    unlinked exchanges and another problem, one importing; the pages only an id or a search reaches."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import BackgroundActivity, BackgroundDatabase

    def version(session, **values) -> uuid.UUID:
        row = BackgroundDatabase(format="ecospold2", source="/nowhere", project=f"pcf-bg-{uuid.uuid4().hex}", **values)
        session.add(row)
        session.flush()
        return row.id

    unlinked = {
        "name": "Unobtainium hexafluoride",
        "categories": ["air", "urban air close to ground"],
        "location": None,
        "unit": "kilogram",
        "type": "biosphere",
        "count": 2,
        "activities": ["clinker production, Portland"],
    }
    other = {"code": "no_production", "activity": "kiln heat recovery", "detail": "no production exchange"}
    with session_scope() as session:
        counts = {"activities": 3, "technosphere": 4, "biosphere": 6}
        ready = version(
            session, name="cn-demo-bg", version="1.0", state="ready", progress=1.0, in_use=True, counts=counts
        )
        attention = version(
            session,
            name="cn-demo-bg",
            version="1.1",
            state="needs_attention",
            problems={"unlinked": [unlinked], "other": [other]},
        )
        running = version(
            session, name="cn-demo-bg", version="1.2", state="preparing", stage="factorising", progress=0.6
        )
        for column, (code, name, product, unit, score) in enumerate(
            (
                ("clk-1", "clinker production, Portland", "clinker, Portland", "kg", 0.8312),
                ("pwr-1", "electricity production, hard coal", "electricity, high voltage", "kWh", 1.0021),
                ("lry-1", "transport, freight, lorry 16-32 metric ton", "transport, freight, lorry", "t*km", 0.1102),
            )
        ):
            session.add(
                BackgroundActivity(
                    database_id=ready,
                    column=column,
                    code=code,
                    name=name,
                    reference_product=product,
                    location="CN",
                    unit=unit,
                    unit_score=score,
                )
            )
        session.commit()
    admin = "/app/admin/backgrounds"
    return {
        PLATFORM_ADMIN: [f"{admin}/{ready}", f"{admin}/{attention}", f"{admin}/{running}", f"{admin}/{uuid.uuid4()}"],
        PCR_AUTHOR: [
            "/app/backgrounds/activities?q=clinker",
            "/app/backgrounds/activities?q=" + "x" * 300,  # refused beside the field
            "/app/backgrounds/activities?q=production&pcr=PCR-CN-CEMENT&pcr_version=1.1.0&item=0&label=熟料",
        ],
        ENGINEER: ["/app/backgrounds/activities?location=CN&unit=kg"],
    }


def _footprint_of(demo: Demo, inventory_id: str) -> str:
    return next(f["id"] for f in demo.call(ENGINEER, "GET", "/api/v1/footprints") if f["inventory_id"] == inventory_id)


@pytest.fixture(scope="module")
def demo(engine, tmp_path_factory):
    """The service in its embedded configuration with the demo's organisations, people, labels and a week's work."""
    from fastapi.testclient import TestClient

    from footprint_api.persistence.migrate import upgrade
    from tests.service import configure

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'pcf.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    from footprint_api.app import create_app
    from footprint_api.persistence.db import session_scope
    from footprint_api.services import demo as demo_data

    with TestClient(create_app(), base_url="http://testserver") as client:
        with session_scope() as session:
            passwords = demo_data.seed(session)
        running = Demo(client, passwords)
        running.by_id = _week_of_work(running)
        for who, urls in _background_databases().items():
            running.by_id.setdefault(who, []).extend(urls)
        yield running


# --- the crawler ----------------------------------------------------------------------------------------------------

PUBLIC_STARTS = ("/", "/registry", "/batch", "/pcrs", "/login", "/factors", "/benchmarks", "/open-data")
SIGNED_IN_STARTS = ("/app", "/pcrs")  # /app sends each person to the first section of their part
PUBLIC_SCOPE = (
    *("/registry", "/compare/", "/batch", "/pcrs", "/v/", "/verify", "/login", "/01/"),
    *("/factors", "/benchmarks", "/open-data"),
)
NOT_PAGES = (".pdf", ".xlsx", ".csv", ".json", ".zip", ".png", ".svg", ".xml", ".txt", "/status")
SAME_SHAPE = 3  # pages of one shape (a path with its ids, and the names of its query) read per person
MAX_PAGES = 400  # per person: the demo has far fewer pages; more means the crawler is looping
ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|PCF-\d{4}-\d{6}-\w|(?<=/)\d+(?=/|$)", re.I
)


def in_scope(path: str, signed_in: bool) -> bool:
    """The pages this crawler reads for a person: the application for someone signed in (with the PCR library,
    whose pages offer the comment form), the public pages for a visitor."""
    if signed_in:
        return path.startswith(("/app/", "/pcrs")) or path == "/app"
    return path == "/" or path.lower().startswith(PUBLIC_SCOPE) or path.startswith("/app")


def _followed(base: str, href: str, signed_in: bool) -> str | None:
    """The link as a page of this service to read (its fragment dropped), or None."""
    parts = urlsplit(urljoin(base, href.strip()))
    if parts.scheme not in ("http", "") or parts.netloc not in ("testserver", ""):
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "lang" for name, _ in query) or parts.path.lower().endswith(NOT_PAGES):
        return None
    if parts.path in ("/logout",) or not in_scope(parts.path, signed_in):
        return None
    return parts.path + (f"?{urlencode(query)}" if query else "")


def shape(url: str) -> str:
    parts = urlsplit(url)
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return ID.sub("{id}", parts.path) + (f"?{'&'.join(names)}" if names else "")


HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']+)["']""", re.I)


@dataclass
class Reading:
    english: dict[str, list[str]] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)
    read: int = 0
    public: set[str] = field(default_factory=set)


def crawl(client, starts, listed, signed_in: bool, reading: Reading, who: str) -> None:
    """Reads the pages from `listed` (each must answer) and `starts` on, following links breadth first. A public
    page is read once, by whoever reaches it first: a signed-in person sees it only with their top bar, which every
    page of the application shows them too."""
    queue = deque([(_followed("/", url, signed_in) or url, True) for url in listed])
    queue += [(url, False) for url in starts]
    seen, shapes = set(), {}
    while queue and len(seen) < MAX_PAGES:
        url, must = queue.popleft()
        public = not url.startswith("/app")
        if url in seen or (public and url in reading.public):
            continue
        if public:
            reading.public.add(url)
        if not must:
            if shapes.get(shape(url), 0) >= SAME_SHAPE:
                continue
            shapes[shape(url)] = shapes.get(shape(url), 0) + 1
        seen.add(url)
        response = client.get(url)
        if response.is_redirect:
            target = _followed(url, response.headers["location"], signed_in)
            if target:
                queue.appendleft((target, must))
            continue
        if response.status_code >= 500 or (must and response.status_code not in (200, 404, 422)):
            reading.broken[f"{who} {url}"] = response.status_code
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        reading.read += 1
        found = english_phrases(visible_text(response.text))
        if found:
            reading.english[f"{who} {url}"] = sorted(set(found))
        for href in HREF.findall(response.text):
            target = _followed(url, href.replace("&amp;", "&"), signed_in)
            if target and target not in seen:
                queue.append((target, False))


def signed_in_client(demo: Demo, email: str | None):
    from fastapi.testclient import TestClient

    from tests.web_client import csrf_of

    client = TestClient(
        demo.client.app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False
    )
    client.headers.update({"Accept": "text/html", "Accept-Language": "zh-CN,zh;q=0.9"})
    if email:
        form = client.get("/login")
        response = client.post(
            "/login",
            data={"email": email, "password": demo.passwords[email], "next": "/app", "csrf_token": csrf_of(form.text)},
        )
        assert response.status_code == 303, response.text
    return client


def report(reading: Reading) -> str:
    """The English found, by kind of page (its path with the ids left out): who read it, one such page, and every
    phrase found on any of them; then the pages that did not answer as they should."""
    kinds: dict[str, dict] = {}
    for page, phrases in reading.english.items():
        who, url = page.split(" ", 1)
        kind = kinds.setdefault(shape(url), {"who": set(), "example": url, "phrases": set()})
        kind["who"].add(who)
        kind["phrases"].update(phrases)
    lines = [
        f"{kind} (e.g. {found['example']}; read by {', '.join(sorted(found['who']))})\n    "
        + "\n    ".join(sorted(found["phrases"]))
        for kind, found in sorted(kinds.items())
    ]
    lines += [f"{page}: answered {status}" for page, status in sorted(reading.broken.items())]
    return "\n".join(lines)


def test_every_page_reads_in_chinese(demo):
    reading = Reading()
    crawl(signed_in_client(demo, None), PUBLIC_STARTS, demo.by_id[VISITOR], False, reading, "visitor")
    for email in ROLES:
        crawl(signed_in_client(demo, email), SIGNED_IN_STARTS, demo.by_id.get(email, []), True, reading, email)
    assert reading.read > 60, reading.read
    assert not reading.english and not reading.broken, (
        f"{len(reading.english)} of {reading.read} pages read in Chinese show English sentences "
        f"(person, page, then each phrase):\n{report(reading)}"
    )
