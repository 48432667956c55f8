"""A buyer's PACT suppliers over the JSON API: connections to suppliers' PACT APIs, footprints pulled from them or uploaded as files."""

from fastapi import APIRouter

router = APIRouter(tags=["suppliers"])
