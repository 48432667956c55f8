"""Pages of the web application: manufacturer."""

from footprint_api.web.routes import page_router

router = page_router()
