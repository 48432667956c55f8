"""The pages of the web application, one router per part. Page handlers are an edge like the JSON routes: parse,
authorise (web.session), call the same service functions, render."""

from fastapi import APIRouter

WEB_TAG = "web pages"


def page_router(**kwargs) -> APIRouter:
    """A router of pages: kept out of the OpenAPI document, and marked so that errors answer as HTML pages."""
    return APIRouter(tags=[WEB_TAG], include_in_schema=False, **kwargs)
