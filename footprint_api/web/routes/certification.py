"""Pages of the web application: certification."""

from footprint_api.web.routes import page_router

router = page_router()
