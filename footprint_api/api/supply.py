"""Supply chains over the JSON API: the supplier sources of an inventory and a footprint, footprints affected by a withdrawn supplier value, recalculation on the supplier's newer data."""

from fastapi import APIRouter

router = APIRouter(tags=["supply"])
