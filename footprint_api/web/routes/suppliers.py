"""Pages of a buyer's PACT suppliers: connections, footprints pulled or uploaded, their status."""

from footprint_api.web.routes import page_router

router = page_router()
