"""The API documentation pages (/docs: Swagger UI, /redoc: ReDoc) with their scripts served by the service.

FastAPI's own pages load both from a CDN, which the offline machines cannot reach and the security policy forbids.
The pages are FastAPI's, pointed at the vendored copies in static/vendor/ (versions in static/vendor/README.md).
Their init code is inline, so each page gets a policy that allows exactly that code by its SHA-256 (CSP Level 2
hash source) and nothing else inline but styles: ReDoc styles its components through injected <style> elements.
ReDoc's sidebar also asks for the Redocly logo from Redocly's CDN; the policy stops that request in the browser and
ReDoc then leaves the logo out.
"""

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response

from footprint_api.web.headers import content_security_policy
from footprint_api.web.static import static_url

DOCS_PATH, REDOC_PATH = "/docs", "/redoc"
_INLINE = {"script": re.compile(r"<script>(.*?)</script>", re.S), "style": re.compile(r"<style>(.*?)</style>", re.S)}


def _hashes(html: str, element: str) -> str:
    """The CSP hash sources of the inline <script> or <style> elements of a page."""
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE[element].findall(html)
    )


def _page(html: str) -> Response:
    return Response(html.encode(), media_type="text/html; charset=utf-8")


def install(app: FastAPI) -> dict[str, str]:
    """Adds the two pages; returns their Content-Security-Policy by path."""
    swagger = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} – Swagger UI",
        swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
        swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
        swagger_favicon_url=static_url("favicon.svg"),
    ).body.decode()
    redoc = get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} – ReDoc",
        with_google_fonts=False,
        redoc_js_url=static_url("vendor/redoc/redoc.standalone.js"),
        redoc_favicon_url=static_url("favicon.svg"),
    ).body.decode()

    async def swagger_page(_: Request) -> Response:
        return _page(swagger)

    async def redoc_page(_: Request) -> Response:
        return _page(redoc)

    app.add_route(DOCS_PATH, swagger_page, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc_page, include_in_schema=False)
    return {
        DOCS_PATH: content_security_policy(script_src=f"'self' {_hashes(swagger, 'script')}"),
        REDOC_PATH: content_security_policy(
            script_src="'self'", style_src="'self' 'unsafe-inline'", worker_src="'self' blob:"
        ),
    }
