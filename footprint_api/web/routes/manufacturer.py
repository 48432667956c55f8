"""Pages of the web application: the manufacturer's dashboard and footprints."""

from footprint_api.web.routes import page_router

router = page_router()
