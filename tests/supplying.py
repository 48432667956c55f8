"""Builders for supply-chain page tests: manufacturers of their own (a kiln, a grinding station, a coal plant, a
smelter), their inventories, and an upstream footprint taken to an issued label through the JSON API (the upstream
certification is not what these tests show; the downstream pages are)."""

import copy
import uuid

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import OrganisationKind, Role
from footprint_api.services import accounts
from tests.conftest import load_example
from tests.labelling import label_of
from tests.service import PASSWORD, World

# A kiln's year: 1,000,000 t clinker at 65.5 % CaO and 2.5 % MgO, burning 140,000 t coal (PCR-CN-CLINKER 1.0.0).
KILN = {
    "pcr": {"id": "PCR-CN-CLINKER", "version": "1.0.0"},
    "product": {"name": "Portland cement clinker", "model": "PII clinker"},
    "manufacturer": "Kiln Co.",
    "facility": {"name": "Kiln line 1", "province": "Guizhou", "grid_region": "South"},
    "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
    "production": {"amount": 1_000_000, "unit": "t"},
    "items": [
        {
            "item": "clinker",
            "amount": 1_000_000,
            "unit": "t",
            "parameters": {
                "cao_fraction": {"amount": 65.5, "unit": "percent"},
                "mgo_fraction": {"amount": 2.5, "unit": "percent"},
            },
        },
        {"item": "kiln_coal", "amount": 140_000, "unit": "t"},
        {"item": "grid_electricity", "amount": 60_000_000, "unit": "kWh"},
        {"item": "limestone", "amount": 1_300_000, "unit": "t"},
    ],
}

# A grinding station's year (粉磨站, no kiln): 1,000 t P·O 42.5 cement from 750 t purchased clinker
# (PCR-CN-CEMENT 1.2.0). `GRINDING_CLINKER_T_PER_T` = 750 / 1,000.
GRINDING_CLINKER_T_PER_T = 0.75
GRINDING = {
    "pcr": {"id": "PCR-CN-CEMENT", "version": "1.2.0"},
    "product": {"name": "Ordinary Portland cement", "model": "P·O 42.5"},
    "manufacturer": "Grinding Co.",
    "facility": {"name": "Grinding station", "province": "Guizhou", "grid_region": "South"},
    "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
    "production": {"amount": 1_000, "unit": "t"},
    "parameters": {"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}},
    "items": [
        {"item": "purchased_clinker", "amount": 750, "unit": "t"},
        {"item": "gypsum", "amount": 50, "unit": "t"},
        {"item": "supplementary_materials", "amount": 200, "unit": "t"},
        {"item": "grid_electricity", "amount": 35_000, "unit": "kWh"},
    ],
}

# A smelter's year: 200,000 t aluminium, 2,000,000,000 kWh over the direct line (10,000 kWh per t) and 700,000,000
# kWh from the grid (PCR-CN-ALUMINIUM 1.3.0). `SMELTER_DIRECT_KWH_PER_T` = 2e9 / 2e5.
SMELTER_DIRECT_KWH_PER_T = 10_000


def smelter() -> dict:
    data = load_example("aluminium-guizhou-2023.json")
    data["pcr"] = {"id": "PCR-CN-ALUMINIUM", "version": "1.3.0"}
    data["manufacturer"] = "Smelter Co."
    data["reference_period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    data["green_certificates"] = []
    grid = next(i for i in data["items"] if i["item"] == "grid_electricity")
    grid["amount"] = 700_000_000
    data["items"].insert(1, {"item": "direct_line_electricity", "amount": 2_000_000_000, "unit": "kWh"})
    return data


def coal_plant() -> dict:
    data = load_example("electricity-guizhou-coal-2023.json")
    data["reference_period"] = {"start": "2025-01-01", "end": "2025-12-31"}
    data["manufacturer"] = "Coal Power Co."
    return data


def with_supplier(data: dict, item: str, supplier: dict | None) -> dict:
    """A copy of the inventory whose `item` names `supplier` (or none)."""
    data = copy.deepcopy(data)
    entry = next(i for i in data["items"] if i["item"] == item)
    entry.pop("supplier", None)
    if supplier:
        entry["supplier"] = supplier
    return data


def manufacturer(world: World, name: str) -> str:
    """A manufacturer of its own with one engineer (`{name}-engineer`, the test password); returns the user."""
    user = f"{name}-engineer"
    with session_scope() as session:
        organisation = accounts.create_organisation(
            session, None, f"{name} {uuid.uuid4().hex[:6]}", OrganisationKind.MANUFACTURER
        )
        accounts.create_user(
            session, None, organisation.id, f"{user}@test.example", user, PASSWORD, Role.MANUFACTURER_MEMBER
        )
        world.organisations[name] = organisation.id
    return user


def calculated(world: World, user: str, product_id: str, data: dict) -> dict:
    """The inventory submitted and calculated; its ids."""
    inventory = world.submit(user, product_id, data)
    assert inventory.status_code == 201, inventory.text
    job = world.calculate(user, inventory.json()["id"])
    assert job["status"] == "succeeded", job
    return {"product_id": product_id, "inventory_id": inventory.json()["id"], "footprint_id": job["footprint_id"]}


def certified(world, user: str, footprint_id: str, body: str = "cb") -> dict:
    """The footprint applied for by `user`, reviewed and approved by `body`, its label issued; the label."""
    return label_of(world, footprint_id, body, applicant=user)


def labelled_product(world: World, user: str, name: str, data: dict) -> dict:
    """A product of `user` with the inventory calculated and certified: product, footprint and label."""
    product = world.product(user, data["pcr"]["id"], name)
    done = calculated(world, user, product["id"], data)
    return {**done, "label": certified(world, user, done["footprint_id"])}
