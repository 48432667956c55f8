"""Pages of the web application: admin."""

from footprint_api.web.routes import page_router

router = page_router()
