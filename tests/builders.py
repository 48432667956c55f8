"""Small inventories for tests: real pydantic objects, only the fields a test is about."""

from pcr_rules.inventory import Inventory


def item(name: str, amount: float, unit: str, **extra) -> dict:
    return {"item": name, "amount": amount, "unit": unit, **extra}


def certificate(serial: str, mwh: int, technology: str = "wind", month: str = "2023-06", **extra) -> dict:
    return {
        "serial": serial,
        "amount_mwh": mwh,
        "technology": technology,
        "generation_month": month,
        "province": "Guizhou",
        **extra,
    }


def inventory_data(pcr_id: str, production: float, unit: str, items: list[dict], **extra) -> dict:
    return {
        "pcr": {"id": pcr_id, "version": "1.0.0"},
        "product": {"name": "test product"},
        "facility": {"name": "test plant", "province": "Guizhou", "grid_region": "South"},
        "reference_period": {"start": "2023-01-01", "end": "2023-12-31"},
        "production": {"amount": production, "unit": unit},
        "items": items,
        **extra,
    }


def make_inventory(pcr_id: str, production: float, unit: str, items: list[dict], **extra) -> Inventory:
    return Inventory.model_validate(inventory_data(pcr_id, production, unit, items, **extra))
