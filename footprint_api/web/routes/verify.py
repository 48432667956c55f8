"""The verification page a label's QR code opens (and the same answer as JSON for a client that asks for JSON on
the printed URL), and the look-up form's target. Public, no login; never cached: revocation is effective at once.
Both show the label's comparable group, linked to the group's page, and its grade with the benchmark's basis."""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from footprint_api.infra.http import NO_STORE
from footprint_api.schemas import public_label_json
from footprint_api.services import registry, verification
from footprint_api.web import i18n, verify_page
from label_service.numbering import InvalidLabelNumber, normalise
from label_service.qr import SHORT_PATH
from label_service.verification import Verdict

router = APIRouter(tags=["public verification"])


def _page(public: dict, status: Verdict, lang: str) -> bytes:
    return verify_page.render(public, status.value, lang)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def _standing(number: str) -> dict | None:
    """The label's group and grades (services.registry.public_standing: cached, None when the database does not
    answer: the verdict stands without them). Not asked while the verdict itself comes from the cache of an outage."""
    held, standing = registry.cached_standing(number)  # no worker thread while the process holds it
    return standing if held else await run_in_threadpool(registry.standing_of_number, number, verification.today())


async def _verification(number: str, request: Request) -> Response:
    if _wants_json(request):
        answer = await verification.answer(number, "json", public_label_json)
        standing = await _standing(number) if answer.found and answer.from_cache_confirmed_at is None else None
        return Response(
            registry.with_standing_json(answer.body, standing),
            status_code=200 if answer.found else 404,
            headers={**NO_STORE, **answer.source_headers()},
            media_type="application/json",
        )
    lang = i18n.negotiate(request)
    answer = await verification.answer(number, "html", _page, lang)
    confirmed = answer.from_cache_confirmed_at
    standing = await _standing(number) if answer.found and confirmed is None else None
    body = verify_page.with_standing(answer.body, standing, lang)
    response = Response(
        verify_page.stamp(body, confirmed or datetime.now(UTC), lang, from_cache=confirmed is not None),
        status_code=200 if answer.found else 404,
        headers={**NO_STORE, **answer.source_headers()},
        media_type="text/html; charset=utf-8",
    )
    i18n.remember(request, response, lang)
    return response


@router.get(
    f"/{SHORT_PATH}/{{number}}",
    response_class=HTMLResponse,
    summary="The verification page the on-pack QR code opens (JSON with Accept: application/json)",
)
async def verify_short(number: str, request: Request):
    return await _verification(number, request)


@router.get(f"/{SHORT_PATH.lower()}/{{number}}", response_class=HTMLResponse, include_in_schema=False)
async def verify_short_lower(number: str, request: Request):
    return await _verification(number, request)


@router.get(
    "/verify/{number}",
    response_class=HTMLResponse,
    summary="The verification page (the path of labels issued before the short QR code)",
)
async def verify_page_legacy(number: str, request: Request):
    return await _verification(number, request)


@router.get("/verify", summary="The look-up form's target: a typed label number opens its verification page")
def verify_lookup(number: Annotated[str, Query(max_length=100)] = ""):
    try:
        target = normalise(number)
    except InvalidLabelNumber:
        target = number.strip()[:40] or "-"
    return RedirectResponse(f"/{SHORT_PATH}/{quote(target, safe='')}", status_code=303)
