"""The language of a page (简体中文 or English) and the messages of each language.

A request's language is, in this order: `?lang=zh|en` (a reader's click on the language switch, remembered in the
`lang` cookie for a year), the `lang` cookie, then the browser's `Accept-Language` (RFC 9110 §12.5.4, q-values
honoured). Any Chinese tag (zh, zh-CN, zh-Hans, zh-TW…) chooses the Simplified Chinese pages, the only Chinese ones.
Nothing to go by (no header, `*`) chooses Chinese, the language of the service's readers; a browser that states
its languages and names neither chooses English, the likelier to be read by someone who does not read Chinese.

The messages themselves are `footprint_api.core.messages`, which every layer may read (the PDF report too).
"""

import re
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

from footprint_api.core.messages import LANGUAGES, Catalogue, catalogue

__all__ = ["LANGUAGES", "Catalogue", "catalogue", "language_headers", "negotiate", "other", "remember"]

DEFAULT = "zh"
FOREIGN_DEFAULT = "en"  # for a browser whose languages are all neither Chinese nor English
HTML_LANG = {"zh": "zh-CN", "en": "en"}  # for <html lang> and Content-Language
COOKIE = "lang"
COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600
ACCEPT_LANGUAGE_MAX_CHARS = 512  # browsers send well under 100; a longer header is read this far and no further
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


def other(lang: str) -> str:
    return LANGUAGES[1 - LANGUAGES.index(lang)]


def _chosen(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if value in LANGUAGES else None


def negotiate(request: Request) -> str:
    """The language of the page answering this request: 'zh' or 'en'."""
    return (
        _chosen(request.query_params.get("lang"))
        or _chosen(request.cookies.get(COOKIE))
        or from_accept_language(request.headers.get("accept-language", "")[:ACCEPT_LANGUAGE_MAX_CHARS])
    )


@lru_cache(maxsize=1024)  # browsers send a handful of distinct headers
def from_accept_language(header: str) -> str:
    """'en-GB,en;q=0.9,zh-CN;q=0.8' -> 'en'. The highest q wins (RFC 9110 §12.4.2), and among equal q the earlier
    entry; q=0 refuses a language."""
    entries = []
    for position, item in enumerate(header[:ACCEPT_LANGUAGE_MAX_CHARS].split(",")):
        tag, _, parameters = item.partition(";")
        primary, quality = tag.strip().lower().split("-", 1)[0], _quality(parameters)
        if primary and quality is not None:
            entries.append((quality, -position, primary))
    refused = {primary for quality, _, primary in entries if quality == 0}
    for quality, _, primary in sorted(entries, reverse=True):
        if quality == 0:
            break
        if primary in LANGUAGES:
            return primary
        if primary == "*":
            return next((lang for lang in (DEFAULT, FOREIGN_DEFAULT) if lang not in refused), DEFAULT)
    if any(quality > 0 for quality, _, _ in entries):
        return FOREIGN_DEFAULT if FOREIGN_DEFAULT not in refused else DEFAULT
    return DEFAULT


def _quality(parameters: str) -> float | None:
    """The q of ';q=0.8' (1 when absent); None for a malformed one (RFC 9110 §12.4.2), whose entry is ignored."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            return float(value) if _QVALUE.fullmatch(value.strip()) else None
    return 1.0


def language_headers(request: Request, lang: str) -> dict[str, str]:
    """The headers of a page in `lang`: its Content-Language, what it varies by, and the `lang` cookie when the
    reader has just chosen the language with `?lang=` (Secure over HTTPS; Lax: sent when following a link here)."""
    headers = {"Content-Language": HTML_LANG[lang], "Vary": "Accept-Language, Cookie"}
    if _chosen(request.query_params.get("lang")) == lang:
        secure = "; Secure" if request.url.scheme == "https" else ""
        headers["Set-Cookie"] = (
            f"{COOKIE}={lang}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/; SameSite=Lax; HttpOnly{secure}"
        )
    return headers


def remember(request: Request, response: Response, lang: str) -> None:
    """Puts `language_headers` on a page's response: made per request, unlike the cached body."""
    for name, value in language_headers(request, lang).items():
        if name == "Content-Language":
            response.headers[name] = value
        else:
            response.headers.append(name, value)  # Set-Cookie and Vary may be there already for other reasons
