"""Requests are bounded and sane before anything parses them. A NUL character in the path or the query string is
refused at once with 400 (PostgreSQL cannot store or compare text containing it: it would surface as a 500 deep in a
query). Request bodies are bounded (OWASP: limit request size): a declared Content-Length
over the limit is refused at once, and a body sent without one is counted as it arrives and refused when it passes
the limit, so neither a JSON parser nor a form parser ever sees more than the limit.

Uploads (multipart forms: Excel workbooks, evidence documents, label photos) get a larger limit than JSON and CSV.
"""

import json

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footprint_api.core.settings import get_settings

NUL_REFUSED = Response(
    json.dumps(
        {
            "type": "about:blank",
            "title": "Bad request",
            "status": 400,
            "detail": "a NUL character is not allowed in the URL",
            "errors": [{"field": "(url)", "reason": "contains NUL"}],
        }
    ),
    status_code=400,
    media_type="application/problem+json",
)


# JSON, form and CSV bodies are text: a NUL in them (raw, JSON-escaped or percent-encoded) can only be meant to break
# something downstream (PostgreSQL text cannot hold it), so it is refused with 422 as the body arrives
TEXT_BODIES = (
    b"application/json",
    b"application/problem+json",
    b"application/cloudevents+json",
    b"application/x-www-form-urlencoded",
    b"text/",
)
NUL_MARKS = {b"application/x-www-form-urlencoded": (b"\x00", b"%00")}  # elsewhere: raw, or JSON's \u0000
TEXT_NUL_MARKS = (b"\x00", b"\\u0000")


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.lower().strip()
    return b""


class _Refused(HTTPException):
    """An HTTPException (FastAPI lets those through while it reads a body; anything else becomes a 400) that names
    the field, as the service's other problem answers do."""

    def __init__(self, status: int, detail: str, reason: str):
        super().__init__(status, detail)
        self.errors = [{"field": "body", "reason": reason}]


class BodyTooLarge(_Refused):
    def __init__(self, limit: int):
        super().__init__(
            413, f"the request body is larger than {limit // 1024} KiB", f"larger than {limit // 1024} KiB"
        )


class NulInText(_Refused):
    def __init__(self):
        super().__init__(422, "a NUL character is not allowed in text", "contains NUL")


class BoundedBodies:
    """Pure ASGI middleware (inside the exception handlers, so a refusal is an ordinary problem answer or error
    page)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        settings = get_settings()
        self.body_limit, self.upload_limit = settings.max_body_bytes, settings.max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        return self.upload_limit if _content_type(scope).startswith(b"multipart/form-data") else self.body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            return await NUL_REFUSED(scope, receive, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self._limit(scope)
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:

            async def refuse() -> Message:
                raise BodyTooLarge(limit)

            return await self.app(scope, refuse, send)
        seen, tail = 0, b""
        kind = _content_type(scope)
        marks = NUL_MARKS.get(kind.split(b";")[0].strip(), TEXT_NUL_MARKS) if kind.startswith(TEXT_BODIES) else ()

        async def counted() -> Message:
            nonlocal seen, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    raise BodyTooLarge(limit)
                if marks:  # a NUL written in any way, even across two chunks
                    window = (tail + chunk).lower()
                    if any(mark in window for mark in marks):
                        raise NulInText()
                    tail = window[-5:]
            return message

        await self.app(scope, counted, send)
