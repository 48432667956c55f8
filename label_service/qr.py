"""The label's QR code: the verification URL on the service's resolver, with the signed statement in the fragment.

- Without a GTIN: `{base}/verify/{label number}`.
- With a GTIN: GS1 Digital Link, `{base}/01/{GTIN-14}?linkType=gs1:certificationInfo&label={number}`, so a
  GS1-aware scanner sees the product and the resolver still finds the label.
- `#jws=` + the compact JWS: a fragment is never sent to a server, so the page load stays small and private, while
  an offline client (`pcf verify`) can check the signature from the code alone.

Error correction Q (about 25 % of the symbol may be damaged), the usual choice for print on packaging.
"""

from urllib.parse import parse_qs, quote, urlsplit

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

from label_service.numbering import normalise


def gtin14(gtin: str) -> str:
    digits = "".join(ch for ch in gtin if ch.isdigit())
    if not 8 <= len(digits) <= 14:
        raise ValueError(f"GTIN {gtin!r} must have 8 to 14 digits")
    return digits.zfill(14)


def verification_url(base_url: str, number: str, gtin: str | None = None) -> str:
    base = base_url.rstrip("/")
    if gtin:
        return f"{base}/01/{gtin14(gtin)}?linkType=gs1:certificationInfo&label={quote(number)}"
    return f"{base}/verify/{quote(number)}"


def qr_content(base_url: str, number: str, token: str, gtin: str | None = None) -> str:
    return f"{verification_url(base_url, number, gtin)}#jws={token}"


def parse_qr_content(content: str) -> tuple[str, str, str | None]:
    """(verification URL without fragment, label number, JWS or None) from a scanned code."""
    parts = urlsplit(content.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError("the code does not hold a verification URL")
    url = parts._replace(fragment="").geturl()
    if "/verify/" in parts.path:
        number = parts.path.rsplit("/verify/", 1)[1]
    else:
        number = (parse_qs(parts.query).get("label") or [""])[0]
    token = parts.fragment[4:] if parts.fragment.startswith("jws=") else None
    return url, normalise(number), token


def matrix(content: str) -> list[list[bool]]:
    """The modules of the symbol, quiet zone (4 modules) included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4)
    code.add_data(content)
    code.make(fit=True)
    return code.get_matrix()


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
    commands = "".join(f"M{x + start * step:.3f} {y + row * step:.3f}h{length * step:.3f}v{step:.3f}"
                       f"h{-length * step:.3f}z" for row, start, length in dark_runs(modules))
    return f'<path fill="#000" d="{commands}"/>'
