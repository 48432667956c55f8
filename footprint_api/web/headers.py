"""Security headers on every response of the service, pages, JSON, files and errors alike.

The policy allows only what the service serves itself (the machines have no internet, and a page that loads
nothing from elsewhere cannot be made to): no inline script or style, no framing, no plug-ins. Pages that cannot
live with it (the API docs, whose init script is inline) get a policy of their own, by path.
"""

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def content_security_policy(script_src: str = "'self'", style_src: str = "'self'", **more: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": script_src,
        "style-src": style_src,
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        **{name.replace("_", "-"): value for name, value in more.items()},
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


CONTENT_SECURITY_POLICY = content_security_policy()
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # a label number in a URL stays on this site
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


INTERNAL_ERROR_START: Message = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")],
}
INTERNAL_ERROR_BODY: Message = {"type": "http.response.body", "body": b"Internal Server Error"}


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class SecurityHeaders:
    """Pure ASGI middleware: appends a header list computed once (the verification route serves over 10,000
    requests a second; this costs one dict lookup and one list concatenation per response).

    Outermost of the application, it is also where an unhandled error ends. Starlette's ServerErrorMiddleware answers
    500 and then raises the error again; a server that sees an error after the answer started cannot tell a complete
    answer from a cut one and closes the connection (uvicorn: `transport.close()`), which resets the next request a
    client already sent on the same keep-alive connection. Here the error is logged once, and only an answer that
    was cut short closes the connection; a complete one keeps it open."""

    def __init__(self, app: ASGIApp, policies: dict[str, str] | None = None):
        """`policies`: path -> Content-Security-Policy of the pages that need another one than the default."""
        self.app = app
        self.default = _raw({"Content-Security-Policy": CONTENT_SECURITY_POLICY, **HEADERS})
        self.by_path = {
            path: _raw({"Content-Security-Policy": policy, **HEADERS}) for path, policy in (policies or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = self.by_path.get(scope["path"], self.default)

        state = {"started": False, "complete": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["complete"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if state["started"] and not state["complete"]:
                raise  # the answer was cut short: the server must close the connection
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not state["started"]:  # not even ServerErrorMiddleware could answer
                await send_with_headers(dict(INTERNAL_ERROR_START))
                await send_with_headers(INTERNAL_ERROR_BODY)
