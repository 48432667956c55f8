"""HTTP answers every edge gives the same way: an RFC 9457 problem response, and a stored document as a download."""

from urllib.parse import quote

from fastapi.responses import JSONResponse
from starlette.responses import Response

PROBLEM = "application/problem+json"
NO_STORE = {"Cache-Control": "no-store"}  # a status must never be served stale: revocation is effective at once


def problem(
    status: int, title: str, detail: str, errors: list[dict] | None = None, headers: dict | None = None
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def attachment(data: bytes, media_type: str, ascii_name: str, name: str) -> Response:
    """A document as an attachment (never shown inline: a document is not a page of this site), with an ASCII
    file name and the full name as RFC 6266 filename*."""
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
