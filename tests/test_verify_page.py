"""The web edge without a browser: language negotiation, security headers, static files, the API docs pages, and
the verification page's content for each verdict, rendered from hand-made public label dicts."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from footprint_api.web import i18n
from footprint_api.web.headers import CONTENT_SECURITY_POLICY
from footprint_api.web.static import static_url
from footprint_api.web.verify_page import CHECKED_AT_MARK, VERDICTS, render, stamp

NUMBER, NEWER = "PCF-2026-000123-F", "PCF-2026-000456-9"
CHECKED_AT = datetime(2026, 11, 25, 10, 30, 5, tzinfo=UTC)  # 18:30 in China (UTC+8)
SECURITY_HEADERS = {
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "permissions-policy",
    "cross-origin-opener-policy",
}


def claim(**changes) -> dict:
    claim = {
        "v": 1,
        "number": NUMBER,
        "kind": "footprint",
        "product": {"name": "P·O 42.5 水泥", "model": "PO-42.5", "gtin": "06901234567892"},
        "manufacturer": "示范建材集团 Demo Building Materials",
        "pcr": {"id": "PCR-CN-CEMENT", "version": "1.0"},
        "footprint": {"value": "784.8", "unit": "kg CO2e", "declared_unit": "1 t cement"},
        "standard": "GB/T 24067-2024",
        "issuer": {"name": "示范认证中心 Demo Certification", "id": "cb-1"},
        "issued": "2026-01-15",
        "expires": "2029-01-14",
        "factor_set": "CN-2024.1",
    }
    claim.update(changes)
    return claim


def public(status: str = "VALID", **changes) -> dict:
    """The public JSON of a label in the given verdict, with what its certification body said."""
    if status == "NOT_FOUND":
        return {
            "number": "PCF-2026-000132-F",
            "claim": None,
            "mistyped": True,
            "nearest": ["PCF-2026-000123-F", "PCF-2026-000132-K"],
            **changes,
        }
    said = {
        "SUSPENDED": "工厂监测数据待复核 CEMS data under review",
        "REVOKED": "核查发现活动数据错误",
        "SUPERSEDED": "按新版 PCR 重新核算",
    }
    return {
        "number": NUMBER,
        "claim": claim(),
        "key_id": "cb-1-2026",
        "verification_url": f"https://pcf.example/V/{NUMBER}",
        "files": {
            name: f"/labels/{NUMBER}/{name}"
            for name in ("certificate.pdf", "qr20.svg", "qr30.svg", "qr30.png", "qr30.pdf", "qr50.png")
        },
        "state_reason": said.get(status),
        "state_changed_at": None if status == "VALID" else "2026-11-20T08:15:00Z",
        "superseded_by": NEWER if status == "SUPERSEDED" else None,
        **changes,
    }


def page(status: str = "VALID", lang: str = "en", **changes) -> str:
    return stamp(render(public(status, **changes), status, lang), CHECKED_AT, lang).decode()


def request(query: str = "", scheme: str = "http", **headers: str) -> Request:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/verify/x",
            "query_string": query.encode(),
            "headers": raw,
            "scheme": scheme,
            "server": ("pcf.example", 443 if scheme == "https" else 80),
        }
    )


class Outline(HTMLParser):
    """The headings, elements with attributes, and inline code of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.headings, self.elements, self.inline = [], [], []
        self._heading = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]
        if (
            tag == "style"
            or (tag == "script" and "src" not in attrs)
            or "style" in attrs
            or any(name.startswith("on") for name in attrs)
        ):
            self.inline.append((tag, attrs))

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[1] += data

    def handle_endtag(self, tag):
        if self._heading is not None and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None

    def find(self, tag: str, **attrs: str) -> list[dict]:
        """Elements by attributes; `for_` is for=, `data_status` is data-status."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in wanted.items())]


# --- language -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("", "zh"),  # nothing to go by: the service's readers' language
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-Hans-CN", "zh"),
        ("zh-TW,zh-HK;q=0.8", "zh"),  # any Chinese: the Simplified pages, the only Chinese ones
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh-Hans;q=0.8", "zh"),  # the higher q wins, not the earlier entry
        ("en-GB, zh-CN", "en"),  # equal q: the earlier entry wins
        ("fr-FR, de;q=0.5", "en"),  # named languages, neither ours: English
        ("fr, en;q=0.1", "en"),
        ("*", "zh"),
        ("zh;q=0, *", "en"),  # q=0 refuses a language, also for the wildcard
        ("ja, en;q=0", "zh"),
        ("en;q=abc, zh;q=0.3", "zh"),  # a malformed weight drops its entry
        ("EN-us", "en"),
    ],
)
def test_accept_language_chooses_with_q_values(header, lang):
    assert i18n.from_accept_language(header) == lang


def test_the_query_beats_the_cookie_which_beats_the_browser():
    assert i18n.negotiate(request("lang=en", cookie="lang=zh", accept_language="zh-CN")) == "en"
    assert i18n.negotiate(request("", cookie="lang=en", accept_language="zh-CN")) == "en"
    assert i18n.negotiate(request("", accept_language="en-US")) == "en"
    assert i18n.negotiate(request("lang=fr", cookie="lang=xx", accept_language="en")) == "en"  # unknown: ignored


def test_choosing_a_language_sets_a_lax_cookie_for_a_year_secure_over_https():
    cookie = i18n.language_headers(request("lang=en"), "en")["Set-Cookie"]
    assert cookie == "lang=en; Max-Age=31536000; Path=/; SameSite=Lax; HttpOnly"
    assert i18n.language_headers(request("lang=en", scheme="https"), "en")["Set-Cookie"].endswith("; Secure")
    assert "Set-Cookie" not in i18n.language_headers(request("", cookie="lang=en"), "en")
    assert i18n.language_headers(request(""), "zh") == {"Content-Language": "zh-CN", "Vary": "Accept-Language, Cookie"}


def test_a_page_response_says_its_language_and_what_it_varies_by():
    from starlette.responses import Response

    response = Response(b"", headers={"Vary": "Accept-Encoding"})
    i18n.remember(request("lang=en"), response, "en")
    assert response.headers["content-language"] == "en"
    assert response.headers.getlist("vary") == ["Accept-Encoding", "Accept-Language, Cookie"]
    assert response.headers["set-cookie"].startswith("lang=en; ")


# Messages whose two languages show different values of the same code, each on purpose: the English quotes the
# PCR's English note of its default method, as results have always stored it; the Chinese names the method, its
# data-quality rating and the parameter it took by their Chinese names instead.
DIFFERENT_VALUES = {
    "code.result.gap.default_method": ({"dqr"}, {"note"}),
    "code.result.gap.default_method_settings": ({"dqr", "parameters"}, {"note", "settings"}),
}


def test_both_catalogues_have_the_same_messages_and_placeholders():
    zh, en = i18n.catalogue("zh").messages, i18n.catalogue("en").messages
    assert zh.keys() == en.keys()
    for key in zh:
        chinese, english = (
            set(re.findall(r"{(\w+)(?:![rsa])?}", zh[key])),
            set(re.findall(r"{(\w+)(?:![rsa])?}", en[key])),
        )
        only_zh, only_en = DIFFERENT_VALUES.get(key, (set(), set()))
        assert chinese - only_zh == english - only_en, key


# --- security headers, static files, docs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    """The app without its database: these answers need none."""
    from footprint_api.app import create_app

    app = create_app()

    @app.get("/test-failure")
    def failure():
        raise RuntimeError("an unexpected error")

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "path",
    [
        "/docs",
        "/healthz",
        "/openapi.json",
        "/static/site.css",
        "/no-such-page",
        "/static/no-such-file.css",
        "/test-failure",
        "/verify/nonsense",
    ],
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers.keys() >= SECURITY_HEADERS, (response.status_code, response.headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["referrer-policy"] == "same-origin"
    permissions = response.headers["permissions-policy"]
    assert permissions.startswith("camera=(self),") and "*" not in permissions and permissions.count("(self)") == 1


def test_an_unexpected_error_carries_them_too(client):
    assert client.get("/test-failure").status_code == 500


@pytest.mark.parametrize("path", ["/verify/no-such-label", "/V/no-such-label", "/v/no-such-label"])
def test_the_verification_pages_allow_no_inline_code(client, path):
    """(Numbers of no label's shape: answered without the database, which this client has not.)"""
    header = client.get(path).headers["content-security-policy"]
    assert dict(directive.split(" ", 1) for directive in header.split("; ")) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    assert header == CONTENT_SECURITY_POLICY


def test_static_files_with_their_fingerprint_are_cached_for_a_year(client):
    versioned = client.get(static_url("site.css"))
    assert versioned.status_code == 200 and versioned.headers["content-type"].startswith("text/css")
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/site.css").headers["cache-control"] == "no-cache"  # no fingerprint: revalidate
    assert client.get("/static/site.css?v=stale").headers["cache-control"] == "no-cache"
    again = client.get("/static/site.css", headers={"If-None-Match": versioned.headers["etag"]})
    assert again.status_code == 304


def test_static_files_do_not_leave_their_folder(client):
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_only_the_services_own_files(client, path):
    html = client.get(path).text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(url.startswith(("/static/vendor/", "/static/favicon")) for url in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "googleapis" not in html and "cdn" not in html.lower()


def test_the_swagger_page_allows_its_own_init_script_by_hash_and_nothing_else_inline(client):
    response = client.get("/docs")
    script_src = dict(d.split(" ", 1) for d in response.headers["content-security-policy"].split("; "))["script-src"]
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/]{43}='", script_src)
    assert "unsafe" not in response.headers["content-security-policy"]


def test_vendored_scripts_keep_their_licences_beside_them():
    from footprint_api.web.static import STATIC

    for vendor in ("swagger-ui", "redoc"):
        assert (STATIC / "vendor" / vendor / "LICENSE").is_file()


# --- the verification page ------------------------------------------------------------------------------------


def verdict_text(html: str) -> str:
    section = re.search(r'<section class="verdict[^>]*>(.*?)</section>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("status", VERDICTS)
def test_every_page_has_one_h1_the_verdict_then_h2s(status, lang):
    html = page(status, lang)
    outline = Outline(html)
    assert outline.headings[0][0] == 1 and [level for level, _ in outline.headings[1:]] == [2] * (
        len(outline.headings) - 1
    )
    word, other_word = i18n.catalogue(lang)(f"verdict.{status}"), i18n.catalogue(i18n.other(lang))(f"verdict.{status}")
    assert outline.headings[0][1] == f"{word} {other_word}"  # the verdict, and small in the other language
    assert outline.find("section", role="status", data_status=status)
    assert outline.find("html", lang=i18n.HTML_LANG[lang])


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("status", VERDICTS)
def test_no_page_has_inline_script_or_style(status, lang):
    outline = Outline(page(status, lang))
    assert outline.inline == []
    assert outline.find("link", rel="stylesheet", href=static_url("site.css"))


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_page_links_to_itself_in_the_other_language(lang):
    other = i18n.other(lang)
    assert Outline(page("VALID", lang)).find("a", href=f"?lang={other}", hreflang=i18n.HTML_LANG[other])


def test_a_valid_label_shows_its_claim_in_the_valid_colour():
    html = page("VALID")
    assert 'class="verdict VALID"' in html and '<section class="value" ' in html and "void" not in html
    assert '<span class="n">784.8</span> <span class="u">kg CO2e / 1 t cement</span>' in html
    assert "Issued by 示范认证中心 Demo Certification and in force until 2029-01-14." in verdict_text(html)


@pytest.mark.parametrize(
    ("status", "said", "when"),
    [
        (
            "SUSPENDED",
            "Suspended on 2026-11-20 16:15 China time (UTC+8) Reason given by the certification body "
            "工厂监测数据待复核 CEMS data under review",
            "Not valid while suspended",
        ),
        (
            "REVOKED",
            "Revoked on 2026-11-20 16:15 China time (UTC+8) Reason given by the certification body "
            "核查发现活动数据错误",
            "No longer valid",
        ),
        (
            "SUPERSEDED",
            "Superseded on 2026-11-20 16:15 China time (UTC+8) Reason given by the certification body "
            "按新版 PCR 重新核算 Replaced by PCF-2026-000456-9",
            "No longer valid",
        ),
    ],
)
def test_a_label_out_of_force_shows_the_date_and_reason_and_a_struck_claim(status, said, when):
    """08:15 UTC on 20 November is 16:15 in China (UTC+8)."""
    html = page(status)
    assert said in verdict_text(html)
    assert '<section class="value void" ' in html and f'<p class="void-note">{when}</p>' in html
    assert 'datetime="2026-11-20T08:15Z"' in html


def test_a_suspension_without_a_stated_reason_says_so():
    assert "Reason given by the certification body none stated" in verdict_text(page("SUSPENDED", state_reason=None))


def test_an_expired_label_says_when_it_expired():
    html = page("EXPIRED", state_changed_at=None)
    assert "This label expired on 2029-01-14: its claim is no longer valid." in verdict_text(html)
    assert "Reason" not in verdict_text(html)  # an expiry needs no reason
    assert '<section class="value void" ' in html


def test_a_superseded_label_links_to_the_newer_one():
    assert Outline(page("SUPERSEDED")).find("a", href=f"/V/{NEWER}")
    assert Outline(page("SUPERSEDED", "zh")).find("a", href=f"/V/{NEWER}")
    assert "替代它的新标签" in verdict_text(page("SUPERSEDED", "zh"))


def test_a_mistyped_number_is_called_mistyped_and_the_nearest_numbers_are_offered():
    html = page("NOT_FOUND")
    assert "Probably mistyped — check the number." in verdict_text(html)
    links = [a["href"] for a in Outline(html).find("a") if a.get("href", "").startswith("/V/")]
    assert links == ["/V/PCF-2026-000123-F", "/V/PCF-2026-000132-K"]
    assert Outline(html).find("input", name="number", value="PCF-2026-000132-F")  # to correct in place
    assert "编号可能输入有误，请核对编号。" in verdict_text(page("NOT_FOUND", "zh"))


def test_an_unknown_well_formed_number_is_not_called_mistyped():
    text = verdict_text(page("NOT_FOUND", mistyped=False, nearest=[]))
    assert "This service issued no label with this number. Treat the label as unverified." in text
    assert "mistyped" not in text and "Did you mean" not in text


def test_the_page_offers_the_certificate_and_the_label_in_its_default_size():
    links = {a["href"] for a in Outline(page("VALID")).find("a") if a.get("href", "").startswith("/labels/")}
    assert links == {f"/labels/{NUMBER}/{name}" for name in ("certificate.pdf", "qr30.svg", "qr30.png", "qr30.pdf")}
    legacy = page("VALID", files={"svg": f"/labels/{NUMBER}.svg", "pdf": f"/labels/{NUMBER}.pdf"})
    assert '<a href="/labels/PCF-2026-000123-F.pdf">Label PDF</a> · <a href="/labels/PCF-2026-000123-F.svg">' in legacy


def test_the_label_files_are_named_with_the_printed_size_of_their_code_in_the_readers_language():
    """Defect 7: a link called 'qr30.pdf' does not say that 30 is the side of the printed QR code in mm."""
    names = re.findall(r'<a href="/labels/[^"]+">([^<]+)</a>', page("VALID", "zh"))
    assert names == [
        "证书 PDF（A4）",
        "标签 PDF（二维码 30 mm）",
        "标签 PNG（二维码 30 mm）",
        "标签 SVG（二维码 30 mm）",
    ]
    english = re.findall(r'<a href="/labels/[^"]+">([^<]+)</a>', page("VALID", "en"))
    assert english[1] == "Label PDF (QR code 30 mm)"


def test_the_gtin_is_shown_as_on_the_pack_without_the_leading_zero_of_its_14_digit_form():
    """Defect 8: the claim carries the GTIN-14 06901234567892; the pack's EAN-13 reads 6901234567892."""
    html = page("VALID", "zh")
    assert "<dd>6901234567892</dd>" in html and "06901234567892" not in html


def test_a_signed_value_is_shown_with_its_thousands_grouped():
    html = page("VALID", claim=claim(footprint={"value": "11220", "unit": "kg CO2e", "declared_unit": "1 t"}))
    assert '<span class="n">11,220</span>' in html


def test_a_supersession_the_service_made_is_explained_in_the_readers_language():
    """Defect 5: the reason the service stored in English ('superseded by label …') is worded again from its code
    on a Chinese page; the JSON keeps the English."""
    stored = {
        "state_reason": f"superseded by label {NEWER} of the same product and PCR",
        "state_reason_code": "labels.reason.superseded",
        "state_reason_params": {"number": NEWER},
    }
    chinese = verdict_text(page("SUPERSEDED", "zh", **stored))
    assert f"原因 已被同一产品、同一产品种类规则的新标签 {NEWER} 替代" in chinese
    assert "superseded by" not in chinese and "认证机构说明的原因" not in chinese
    english = verdict_text(page("SUPERSEDED", "en", **stored))
    assert f"Reason superseded by label {NEWER} of the same product and PCR" in english


@pytest.mark.parametrize("status", VERDICTS)
def test_every_page_has_a_form_to_check_another_number(status):
    outline = Outline(page(status))
    assert outline.find("form", action="/verify", method="get")
    assert outline.find("input", name="number", id="number") and outline.find("label", for_="number")


def test_user_strings_are_escaped():
    attack = "<script>alert(1)</script>"
    hostile = public(
        "SUSPENDED",
        number=attack,
        state_reason=attack,
        superseded_by=attack,
        claim=claim(product={"name": attack, "model": attack, "gtin": None}, manufacturer=attack),
    )
    for status in ("SUSPENDED", "SUPERSEDED"):
        html = render(hostile, status, "en").decode()
        assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = render(public("NOT_FOUND", number=attack, nearest=[attack]), "NOT_FOUND", "en").decode()
    assert "<script" not in html and 'href="/V/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in html


def test_the_rendered_page_holds_the_mark_once_and_no_time():
    body = render(public("VALID"), "VALID", "zh")
    assert body.count(CHECKED_AT_MARK) == 1
    assert not re.search(rb"\d{2}:\d{2}", body)  # the cached bytes are the same at any time


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        ("zh", '查验时间 <time datetime="2026-11-25T10:30Z">2026-11-25 18:30 北京时间 (UTC+8)</time>'),
        ("en", 'Checked at <time datetime="2026-11-25T10:30Z">2026-11-25 18:30 China time (UTC+8)</time>'),
    ],
)
def test_stamp_puts_the_check_time_in_china_time(lang, shown):
    """10:30:05 UTC is 18:30 in China (UTC+8, no daylight saving); shown to the minute."""
    assert shown in page("VALID", lang)


def test_a_naive_check_time_is_taken_as_utc():
    body = render(public("VALID"), "VALID", "en")
    assert stamp(body, CHECKED_AT.replace(tzinfo=None), "en") == stamp(body, CHECKED_AT, "en")


def test_an_unknown_verdict_is_refused():
    with pytest.raises(ValueError):
        render(public("VALID"), "MAYBE", "en")


def test_every_file_of_the_web_pages_is_shipped_as_package_data():
    """`pip install .` must carry the templates, catalogues and static files, not only the Python modules."""
    import tomllib
    from fnmatch import fnmatch

    from tests.conftest import ROOT

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["footprint_api"]
    package = ROOT / "footprint_api"
    data = [
        p.relative_to(package).as_posix()
        for p in (package / "web").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc")
    ]
    assert data and [f for f in data if not any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)] == []


# --- the label's standing: its comparable group and grades ----------------------------------------------------------

GROUP_HREF = "/benchmarks/PCR-CN-CEMENT~1~~1%20t"


def standing(grade_at_issue: bool = True, valid_labels: int = 7) -> dict:
    """A standing as services.registry.public_standing gives it: now 785 / 850 = 0.9235 -> grade 3 (0.8 < r <= 1.2);
    at issue 785 / 1000 = 0.785 -> grade 2 (0.6 < r <= 0.8)."""

    def grade(value: float, version: int, grade: int) -> dict:
        return {
            "grade": grade,
            "ratio": 785 / value,
            "value": 785.0,
            "bands": [0.6, 0.8, 1.2, 2.0],
            "benchmark": {
                "id": "b",
                "year": 2025,
                "version": version,
                "basis": "cited",
                "value": value,
                "effective_from": "2026-01-01",
            },
            "basis_text": {"zh": "行业平均值，测试来源", "en": "Industry average, test source"},
        }

    return {
        "group": {
            "key": "PCR-CN-CEMENT~1~~1 t",
            "pcr_id": "PCR-CN-CEMENT",
            "pcr_major": 1,
            "product_class": "",
            "declared_unit": "1 t",
            "name": {
                "zh": "水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t",
                "en": "Cement · PCR-CN-CEMENT 1.x · 1 t",
            },
            "href": GROUP_HREF,
            "valid_labels": valid_labels,
            "ranked": valid_labels >= 5,
            "minimum_to_rank": 5,
            "reference_year": 2025,
        },
        "grade": grade(850, 2, 3),
        "grade_at_issue": grade(1000, 1, 2) if grade_at_issue else None,
    }


def standing_page(status: str = "VALID", lang: str = "zh", shown: dict | None = None) -> str:
    from footprint_api.web.verify_page import with_standing

    return with_standing(render(public(status), status, lang), shown, lang).decode()


def test_the_rendered_page_holds_the_standing_mark_once_with_its_verdict():
    from footprint_api.web.verify_page import STANDING_MARK

    assert [m.group(1) for m in STANDING_MARK.finditer(render(public("SUSPENDED"), "SUSPENDED", "en"))] == [
        b"SUSPENDED"
    ]
    assert not STANDING_MARK.search(render(public("NOT_FOUND"), "NOT_FOUND", "en"))  # no label, no group


def test_the_page_links_to_the_group_and_shows_both_grades_with_their_basis():
    """785 / 850 = 0.92 (grade 3 now), 785 / 1000 = 0.79 (grade 2 at issue); figures to four significant digits,
    as every figure of a label is shown (label_service.render.label_figure)."""
    html = standing_page("VALID", "zh", standing())
    assert f'<a class="group" href="{GROUP_HREF}">水泥 · PCR-CN-CEMENT 1.x 版 · 该类别全部产品 · 1 t</a>' in html
    assert "<strong>3 级（共 5 级）</strong> · 比值 0.92 = 785.0 ÷ 850.0（kg CO2e，每 1 t）" in html
    assert "<strong>2 级（共 5 级）</strong> · 比值 0.79 = 785.0 ÷ 1,000（kg CO2e，每 1 t）" in html
    assert (
        "引用基准值: 行业平均值，测试来源 · 2025 年第 2 版，自 2026-01-01 起生效 · 1–4 级比值上限：0.6 / 0.8 / 1.2 / 2"
        in html
    )
    assert "<!--standing" not in html
    outline = Outline(html)
    assert [level for level, _ in outline.headings[1:]] == [2] * (len(outline.headings) - 1)
    english = standing_page("VALID", "en", standing(grade_at_issue=False, valid_labels=3))
    assert "Grade 3 of 5" in english and "(fewer than 5: not ranked)" in english
    assert "Grade at issue</dt><dd>no benchmark for this group yet" in english


def test_a_label_out_of_force_shows_its_grade_for_the_record_only():
    html = standing_page("REVOKED", "en", standing())
    assert '<section class="details standing void"' in html and "its grade is shown for the record only" in html


def test_without_a_standing_the_mark_is_removed_and_nothing_shown():
    html = standing_page("VALID", "en", None)
    assert "standing" not in html


def test_a_held_standing_is_answered_without_a_worker_thread_or_a_second_rendering(monkeypatch):
    """The verification answer is the most requested of the service: a standing this process holds is read from its
    cache on the event loop (registry.cached_standing), and its page fragment rendered once per state and language
    (verify_page keeps it while the registry keeps the standing object). bench/bench_verify.py measures the effect."""
    from footprint_api.services import registry
    from footprint_api.web import verify_page

    assert registry.cached_standing("not a label number") == (True, None)
    number = "PCF-2026-000123-F"
    registry.forget_standings()
    assert registry.cached_standing(number) == (False, None)
    standing = {"group": {"href": "/benchmarks/x", "name": {"zh": "水泥", "en": "cement"}, "declared_unit": "1 t"}}
    with registry._standing_lock:
        registry._standing_cache[number] = (float("inf"), standing)
    assert registry.cached_standing(number.lower().replace("-", "")) == (True, standing)
    renders = []
    monkeypatch.setattr(verify_page, "render_standing", lambda s, status, lang: renders.append(lang) or b"<p>x</p>")
    page = b"<main><!--standing VALID--></main>"  # the mark as the page template writes it
    first = verify_page.with_standing(page, standing, "zh")
    again = verify_page.with_standing(page, standing, "zh")
    assert first == again and renders == ["zh"]
    registry.forget_standings()
