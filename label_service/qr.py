"""The label's on-pack QR code: a short verification URL, nothing else.

A code printed on a product must stay small and readable by any phone (GS1 recommends modules of at least about
0.4 mm for phone scanning of QR codes on packs), so it carries only what opens the verification page:

- Without a GTIN: `{BASE}/V/{LABEL NUMBER}`.
- With a GTIN: a GS1 Digital Link URI, `{BASE}/01/{GTIN-14}?label={LABEL NUMBER}` (GS1 Digital Link URI Syntax
  1.2, §4: a primary key in the path; attributes that are not GS1 Application Identifiers may follow in the query
  string and are passed through), so a GS1-aware scanner sees the product and the resolver still finds the label.

Scheme and host are case-insensitive (RFC 3986 §6.2.2.1) and the label number is upper case, so the URL is written
in upper case where that keeps its meaning: the QR code can then use its alphanumeric mode (5.5 bits a character
instead of 8), which is what keeps a 30-character base URL within version 5. The signed statement is served online
and printed on the certificate document; `label_service.compact` is the offline code of its own.
"""

from urllib.parse import parse_qs, quote, urlsplit

import qrcode
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q

from label_service import gs1
from label_service.numbering import normalise

SHORT_PATH = "V"  # `/V/{number}` and `/v/{number}` both open the verification page
ERROR_CORRECTION = {"M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q}


def public_base(base_url: str) -> str:
    """The base URL with scheme and host in upper case (their case carries no meaning), path kept as given."""
    parts = urlsplit(base_url.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{base_url!r} is not an http(s) base URL")
    return f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}"


def verification_url(base_url: str, number: str, gtin: str | None = None) -> str:
    """What the on-pack code carries: the short URL, or the GS1 Digital Link URI for a product with a GTIN."""
    base = public_base(base_url)
    if gtin:
        return f"{base}/01/{gs1.gtin14(gtin)}?label={quote(number)}"
    return f"{base}/{SHORT_PATH}/{quote(number)}"


def parse_verification_url(content: str) -> tuple[str, str]:
    """(service base URL, canonical label number) of a scanned code: the short URL, the GS1 Digital Link or the
    earlier `/verify/{number}#jws=…` form. Raises ValueError when it is none of them."""
    parts = urlsplit(content.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("the code does not hold a verification URL")
    path = parts.path
    for marker in (f"/{SHORT_PATH}/", f"/{SHORT_PATH.lower()}/", "/verify/"):
        if marker in path:
            base_path, number = path.rsplit(marker, 1)
            break
    else:
        if "/01/" not in path:
            raise ValueError("the code's URL is not a label verification URL")
        base_path = path[: path.index("/01/")]
        number = (parse_qs(parts.query).get("label") or [""])[0]
    base = f"{parts.scheme.lower()}://{parts.netloc.lower()}{base_path}"
    return base, normalise(number)


def signed_statement_in(content: str) -> str | None:
    """The compact JWS that codes of the first label design carried in the URL fragment (`#jws=…`), if any."""
    fragment = urlsplit(content.strip()).fragment
    return fragment[4:] if fragment.startswith("jws=") else None


MAX_VERSION = 5  # 37 modules: at 0.44 mm a module, with its quiet zone, within the smallest label's 20 mm


def symbol(content: str, error_correction: str | None = None) -> qrcode.QRCode:
    """The smallest QR symbol for the content (modes chosen per segment by the qrcode library), quiet zone 4.

    Error correction Q (about 25 % of the symbol may be damaged) is the usual choice for print on packaging; when Q
    would need a version above 5 (a long base URL with a GS1 Digital Link), M (about 15 %) keeps the modules large,
    which matters more to a phone than the extra redundancy."""
    for level in [error_correction] if error_correction else ["Q", "M"]:
        code = qrcode.QRCode(error_correction=ERROR_CORRECTION[level], border=4)
        code.add_data(content)
        code.make(fit=True)
        if code.version <= MAX_VERSION:
            break
    return code


def matrix(content: str, error_correction: str | None = None) -> list[list[bool]]:
    """The modules of the symbol, quiet zone (4 modules) included."""
    return symbol(content, error_correction).get_matrix()


def version(content: str, error_correction: str | None = None) -> int:
    return symbol(content, error_correction).version


def error_correction_of(content: str) -> str:
    return {v: k for k, v in ERROR_CORRECTION.items()}[symbol(content).error_correction]


def dark_runs(modules: list[list[bool]]) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules: fewer shapes to draw."""
    runs = []
    for row, line in enumerate(modules):
        column = 0
        while column < len(line):
            if line[column]:
                start = column
                while column < len(line) and line[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return runs


def svg_path(modules: list[list[bool]], x: float, y: float, size: float) -> str:
    """One SVG path drawing the dark modules into a size x size square at (x, y)."""
    step = size / len(modules)
    commands = "".join(
        f"M{x + start * step:.3f} {y + row * step:.3f}h{length * step:.3f}v{step:.3f}h{-length * step:.3f}z"
        for row, start, length in dark_runs(modules)
    )
    return f'<path fill="#000" d="{commands}"/>'
