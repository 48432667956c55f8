"""Product category rules: what a footprint of a product category must contain, and checks of inventories.

Pure Python on pydantic and pint; no web, database or LCA imports.
"""

from pcr_rules.errors import FieldError, InventoryInvalid, PCRNotFound
from pcr_rules.inventory import Inventory
from pcr_rules.language import pcr_json_schema
from pcr_rules.models import PCR
from pcr_rules.registry import PCRRegistry, default_registry
from pcr_rules.validation import validate_inventory

__all__ = [
    "PCR",
    "FieldError",
    "Inventory",
    "InventoryInvalid",
    "PCRNotFound",
    "PCRRegistry",
    "default_registry",
    "pcr_json_schema",
    "validate_inventory",
]
