"""Pages of supply chains: the supplier sources of a footprint, footprints affected by a withdrawn supplier value and their recalculation; a certification body's labels resting on withdrawn supplier values."""

from footprint_api.web.routes import page_router

router = page_router()
