"""The verification page a label's QR code opens on a phone: the verdict first, in one word and one colour, then
what the label claims, de-emphasised when the claim no longer holds.

`render()` depends only on the label, the verdict and the language, so its bytes can be cached per
(label, verdict, language); the time of the check, to the minute, is put in per request by `stamp()`, one
bytes.replace of CHECKED_AT_MARK, and the label's standing (its comparable group and grades, which change with the
benchmarks, not with the label) by `with_standing()`, where the page holds STANDING_MARK. Times are shown in China time (UTC+8, no daylight saving) with the zone named, the time of the
readers and of the certification bodies; the machine-readable `datetime` attribute is in UTC.
"""

import re
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from markupsafe import Markup, escape

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.services.labels import file_title
from footprint_api.web import i18n
from footprint_api.web.pages import environment
from label_service.issuance import CERTIFICATE
from label_service.render import DEFAULT_SIZE, gtin_shown, label_figure

CHECKED_AT_MARK = b"<!--checked-at-->"
STANDING_MARK = re.compile(rb"<!--standing ([A-Z_]+)-->")  # where the standing goes, with the page's verdict
VERDICTS = ("VALID", "SUSPENDED", "REVOKED", "EXPIRED", "SUPERSEDED", "NOT_FOUND")
REASON_ALWAYS_SHOWN = ("SUSPENDED", "REVOKED")  # an expiry or a supersession needs no reason; these do
NEAREST_SHOWN = 10
FILE_FORMATS = ("pdf", "png", "svg")  # the order of services.labels.downloads


def render(public: dict, status: str, lang: str) -> bytes:
    """The page of one label (or of a number without one) for one verdict, in 'zh' or 'en'.

    `public` is the label's public JSON (PublicLabel): number, claim, key_id, files, and state_reason,
    state_changed_at (ISO 8601), superseded_by; for a number without a label mistyped and nearest."""
    status = str(status)
    if status not in VERDICTS:
        raise ValueError(f"unknown verdict {status!r}")
    t, other_lang = i18n.catalogue(lang), i18n.other(lang)
    claim = public.get("claim") or None
    number = str(public.get("number") or "")
    return (
        environment()
        .get_template("verify.html")
        .render(
            html_lang=i18n.HTML_LANG[lang],
            other_lang=other_lang,
            other_html_lang=i18n.HTML_LANG[other_lang],
            t=t,
            other=i18n.catalogue(other_lang),
            status=status,
            number=number,
            why=_why(public, status, claim, t),
            state=_state(public, status, lang, t) if claim else None,
            claim=_claim(claim, public, t) if claim else None,
            void_note=t.messages.get(f"value.void.{status}") or t("value.void"),
            nearest=[(n, _verify_url(n)) for n in (public.get("nearest") or [])[:NEAREST_SHOWN]],
            files=_files(public.get("files") or {}, lang),
            json_url=f"/api/v1/public/labels/{quote(number, safe='')}",
            checked_at=Markup(CHECKED_AT_MARK.decode()),
        )
        .encode()
    )


def stamp(body: bytes, checked_at: datetime, lang: str, from_cache: bool = False) -> bytes:
    """The page with the time of this check, to the minute, where CHECKED_AT_MARK is (a naive time is UTC).

    `from_cache`: the database did not answer, and `checked_at` is when the service last confirmed this answer with
    it; a note saying so follows the time (the mark ends the "checked at" paragraph, the note is a paragraph of its
    own after it)."""
    moment = checked_at if checked_at.tzinfo else checked_at.replace(tzinfo=UTC)
    stamped = _time_element(int(moment.timestamp()) // 60, lang)
    if from_cache:
        stamped += _cache_note(moment, lang)
    return body.replace(CHECKED_AT_MARK, stamped)


def _cache_note(confirmed_at: datetime, lang: str) -> bytes:
    """The note of an answer served from the cache during a database outage, with the time it was confirmed."""
    shown = _time(confirmed_at, lang)["text"]
    note = escape(i18n.catalogue(lang)("outage.cached_answer", confirmed=shown))
    return f'</p>\n  <p class="cached" role="note" data-source="cache">{note}'.encode()


@lru_cache(maxsize=16)
def _time_element(minute: int, lang: str) -> bytes:
    """Formatted once a minute, not on every request."""
    moment = _time(datetime.fromtimestamp(minute * 60, UTC), lang)
    return f'<time datetime="{moment["iso"]}">{escape(moment["text"])}</time>'.encode()


def _time(moment: datetime, lang: str) -> dict[str, str]:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    china = moment.astimezone(CHINA_TIME)
    return {
        "iso": f"{moment.astimezone(UTC):%Y-%m-%dT%H:%MZ}",
        "text": f"{china:%Y-%m-%d %H:%M} {i18n.catalogue(lang)('time.zone')}",
    }


def _verify_url(number: str) -> str:
    return f"/V/{quote(str(number), safe='')}"


def _why(public: dict, status: str, claim: dict | None, t: i18n.Catalogue) -> str:
    if status == "NOT_FOUND":
        return t("why.MISTYPED") if public.get("mistyped") else t("why.NOT_FOUND")
    claim = claim or {}
    return t(f"why.{status}", issuer=(claim.get("issuer") or {}).get("name", ""), expires=claim.get("expires", ""))


def _state(public: dict, status: str, lang: str, t: i18n.Catalogue) -> dict | None:
    """What the certification body said when the label left force: when, why, and what replaces it. A reason the
    service gave itself (a supersession, an expiry) is worded in the reader's language from its code; the body's
    own words are shown as written."""
    if status == "VALID":
        return None
    changed = public.get("state_changed_at")
    code = public.get("state_reason_code")
    by_service = code in t.messages
    reason = t(code, **(public.get("state_reason_params") or {})) if by_service else public.get("state_reason")
    superseded_by = public.get("superseded_by") if status == "SUPERSEDED" else None
    return {
        "changed": _changed(changed, lang) if changed else None,
        "show_reason": bool(reason) or status in REASON_ALWAYS_SHOWN,
        "reason": reason,
        "by_service": by_service,
        "superseded_by": (superseded_by, _verify_url(superseded_by)) if superseded_by else None,
    }


def _changed(value: str | datetime, lang: str) -> dict[str, str]:
    """An ISO 8601 date is shown as it is; a date-time (naive: UTC) in China time."""
    if isinstance(value, datetime):
        return _time(value, lang)
    if len(value) == 10:
        return {"iso": value, "text": value}
    try:
        return _time(datetime.fromisoformat(value), lang)
    except ValueError:
        return {"iso": "", "text": value}


def _files(files: dict[str, str], lang: str) -> list[tuple[str, str]]:
    """The certificate and the label in its default size (a label of the first design: its one size), each named
    in the reader's language with what its size means (services.labels.file_title)."""
    names = [CERTIFICATE] + [name for fmt in FILE_FORMATS for name in (f"{DEFAULT_SIZE}.{fmt}", fmt)]
    return [(file_title(name, lang)[0], files[name]) for name in names if name in files]


def _claim(claim: dict, public: dict, t: i18n.Catalogue) -> dict:
    product, footprint = claim.get("product") or {}, claim.get("footprint") or {}
    pcr, kind = claim.get("pcr") or {}, claim.get("kind") or "footprint"
    return {
        "value": label_figure(str(footprint.get("value") or "")),
        "unit": footprint.get("unit", ""),
        "declared_unit": footprint.get("declared_unit", ""),
        "product": product.get("name", ""),
        "model": product.get("model"),
        "gtin": gtin_shown(product.get("gtin")),
        "manufacturer": claim.get("manufacturer", ""),
        "kind": t.messages.get(f"kind.{kind}", kind),
        "pcr": " ".join(filter(None, (pcr.get("id"), pcr.get("version")))),
        "standard": claim.get("standard", ""),
        "issuer": (claim.get("issuer") or {}).get("name", ""),
        "issued": claim.get("issued", ""),
        "expires": claim.get("expires", ""),
        "factor_set": claim.get("factor_set", ""),
        "key_id": public.get("key_id") or "",
    }


def with_standing(body: bytes, standing: dict | None, lang: str) -> bytes:
    """The page with the label's standing where STANDING_MARK is (services.registry.public_standing: its group,
    linked to the group's page, and its grade now and at issue with the benchmark's basis); the mark removed where
    there is none."""
    found = STANDING_MARK.search(body)
    if found is None:
        return body
    shown = _rendered_standing(standing, found.group(1).decode(), lang) if standing else b""
    return body[: found.start()] + shown + body[found.end() :]


# The fragment of each standing the registry's cache holds, rendered once per state and language: the standing is
# the same object for as long as that cache keeps it (a minute), and the page is the service's most requested one.
_RENDERED_ENTRIES = 4096
_rendered: OrderedDict[tuple[int, str, str], tuple[dict, bytes]] = OrderedDict()
_rendered_lock = threading.Lock()


def _rendered_standing(standing: dict, status: str, lang: str) -> bytes:
    key = (id(standing), status, lang)
    with _rendered_lock:
        held = _rendered.get(key)
        if held is not None and held[0] is standing:  # the same object, not another one at a reused address
            return held[1]
    shown = render_standing(standing, status, lang)
    with _rendered_lock:
        _rendered[key] = (standing, shown)
        while len(_rendered) > _RENDERED_ENTRIES:
            _rendered.popitem(last=False)
    return shown


def render_standing(standing: dict, status: str, lang: str) -> bytes:
    t = i18n.catalogue(lang)
    group = standing["group"]
    return (
        environment()
        .get_template("verify_standing.html")
        .render(
            t=t,
            status=status,
            lang=lang,
            group=group,
            group_href=group["href"],
            group_name=group["name"][lang],
            grade=_grade(standing.get("grade"), group["declared_unit"], lang),
            at_issue=_grade(standing.get("grade_at_issue"), group["declared_unit"], lang),
        )
        .encode()
    )


def _grade(grade: dict | None, unit: str, lang: str) -> dict | None:
    """A grade as the page words it: the grade, the ratio to two decimals, the benchmark's value and basis."""
    if not grade:
        return None
    benchmark = grade["benchmark"]
    return {
        "grade": grade["grade"],
        "ratio": f"{grade['ratio']:.2f}",
        "value": label_figure(float(grade["value"])),
        "benchmark": label_figure(float(benchmark["value"])),
        "unit": unit,
        "basis": (grade.get("basis_text") or {}).get(lang, ""),
        "kind": benchmark["basis"],
        "year": benchmark["year"],
        "version": benchmark["version"],
        "effective": benchmark["effective_from"],
        "bands": " / ".join(f"{bound:g}" for bound in grade.get("bands") or ()),
    }
