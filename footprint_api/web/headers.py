"""Security headers on every response of the service, pages, JSON, files and errors alike.

The policy allows only what the service serves itself (the machines have no internet, and a page that loads
nothing from elsewhere cannot be made to): no inline script or style, no framing, no plug-ins. Pages that cannot
live with it (the API docs, whose init script is inline) get a policy of their own, by path.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class SecurityHeaders:
    """Pure ASGI middleware: appends a header list computed once (the verification route serves over 10,000
    requests a second; this costs one dict lookup and one list concatenation per response)."""

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

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
