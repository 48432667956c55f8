"""The factor database over the JSON API: consent per label, releases (cut by the platform admin) and their entries and files."""

from fastapi import APIRouter

router = APIRouter(tags=["factors"])
