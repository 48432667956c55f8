"""The Jinja environment of the web pages: templates in templates/, every value escaped, static files by URL."""

from datetime import UTC
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from footprint_api.core.china_time import CHINA_TIME
from footprint_api.web.static import static_url

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Autoescaping on for every template (not by file name): a page never prints a user string unescaped.
    StrictUndefined: a misspelt name fails the page's tests instead of printing nothing."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.filters["grouped"] = _grouped  # a label's value as every page prints it: 11,170 (the signed digits)
    env.filters["gtin"] = _gtin  # a GTIN as on the pack: GTIN-13 where the stored GTIN-14 starts with 0
    return env


def context(request, lang: str, user=None, **values) -> dict:
    """What every page's template gets: the language, its messages and the other language's, the signed-in person,
    their navigation and their form token."""
    from footprint_api.web import i18n, nav, session

    other_lang = i18n.other(lang)
    return {
        "request": request,
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "other_lang": other_lang,
        "other_html_lang": i18n.HTML_LANG[other_lang],
        "t": i18n.catalogue(lang),
        "other": i18n.catalogue(other_lang),
        "user": user,
        "nav": nav.items(user, request.url.path),
        "csrf": session.session_csrf(user) if user else None,
        "notice": None,
        "switch_url": _switch_url(request, other_lang),
        **values,
    }


def _switch_url(request, lang: str) -> str:
    """The same page (path and query) in the other language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(query)}"


def page(request, template: str, user=None, status_code: int = 200, headers: dict | None = None, **values):
    """A page of the web application in the reader's language (never cached: pages show live data)."""
    from starlette.responses import HTMLResponse

    from footprint_api.web import i18n

    lang = i18n.negotiate(request)
    body = environment().get_template(template).render(context(request, lang, user, **values))
    response = HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store", **(headers or {})})
    i18n.remember(request, response, lang)
    return response


def when(instant) -> str:
    """A moment as every page shows it: China time, the zone named (stored instants are UTC)."""
    if not instant:
        return "–"
    moment = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return f"{moment.astimezone(CHINA_TIME):%Y-%m-%d %H:%M} (UTC+8)"


def _gtin(value) -> str:
    from label_service.render import gtin_shown

    return gtin_shown(value) or "—"


def _grouped(value) -> str:
    from label_service.render import label_figure

    return label_figure(None if value is None else str(value))
