"""Pages of the factor database: the public releases and their entries, the platform admin's cutting of a release, a manufacturer's consent."""

from footprint_api.web.routes import page_router

router = page_router()
