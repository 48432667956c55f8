"""Pages of the web application: products, facilities and inventories (form and Excel)."""

from footprint_api.web.routes import page_router

router = page_router()
