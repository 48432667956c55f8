"""Builders for tender tests: a procurement organisation with its people, cement labels of one class (PCR-CN-CEMENT
1.2.0, GB 175-2023 type and strength class) issued through the certification flow, a cited benchmark."""

import uuid
from datetime import date

from sqlmodel import select
from stdnum import ean

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Label, OrganisationKind, Role
from footprint_api.services import accounts, benchmarks
from tests.conftest import load_example
from tests.labelling import label_of, unique_serials
from tests.service import PASSWORD, World

CEMENT_VERSION = "1.2.0"


def buyer(world: World, name: str) -> dict[str, str]:
    """A procurement organisation `name` with an officer and an admin (`{name}-officer`, `{name}-admin`, password
    PASSWORD); returns {role: user name}; the organisation's id is in world.organisations[name]."""
    people = {"officer": f"{name}-officer", "admin": f"{name}-admin"}
    with session_scope() as session:
        organisation = accounts.create_organisation(
            session, None, f"{name} {uuid.uuid4().hex[:6]}", OrganisationKind.PROCUREMENT
        )
        world.organisations[name] = organisation.id
        for role, user in (("officer", Role.PROCUREMENT_OFFICER), ("admin", Role.PROCUREMENT_ADMIN)):
            accounts.create_user(
                session, None, organisation.id, f"{people[role]}@test.example", people[role], PASSWORD, user
            )
    return people


def gtin(sequence: int) -> str:
    """A GTIN-13 of the test range 690999…, with its check digit."""
    body = f"690999{sequence:06d}"
    return body + ean.calc_check_digit(body)


def cement_label(
    world: World,
    strength: str = "42.5",
    cement_type: str = "P·O",
    gtin_code: str | None = None,
    production_t: float | None = None,
    product_id: str | None = None,
) -> dict:
    """A label of the cement example under PCR-CN-CEMENT 1.2.0 as cement `type strength` (a new product each time,
    so each is a label in force of its own), its group columns filled (services.benchmarks.backfill, as the
    housekeeping task does for a label issued without them). `production_t`: the plant's output instead of the
    example's 2,000,000 t; every item is a yearly total, so the value per t scales as 2,000,000 / production_t
    (785 kg CO2e/t at 2,000,000 t). `product_id`: a new label of that product instead (it supersedes the product's
    label in force). Returns the label (LabelOut)."""
    data = unique_serials(load_example("cement-guizhou-2023.json"))
    data["pcr"]["version"] = CEMENT_VERSION
    data["parameters"] = {"cement_type": {"choice": cement_type}, "strength_class": {"choice": strength}}
    if production_t is not None:
        data["production"]["amount"] = production_t
    if product_id is None:
        product = world.call(
            "acme-engineer",
            "POST",
            "/api/v1/products",
            json={
                "name": f"{cement_type} {strength} {data['product']['name']}",
                "gtin": gtin_code,
                "pcr_id": data["pcr"]["id"],
            },
        )
        assert product.status_code == 201, product.text
        product_id = product.json()["id"]
    inventory = world.submit("acme-engineer", product_id, data)
    assert inventory.status_code == 201, inventory.text
    job = world.calculate("acme-engineer", inventory.json()["id"])
    assert job["status"] == "succeeded", job
    label = label_of(world, job["footprint_id"])
    fill_groups()
    return label


def fill_groups() -> None:
    with session_scope() as session:
        benchmarks.backfill(session)


def labelled(number: str) -> Label:
    with session_scope() as session:
        return session.exec(select(Label).where(Label.number == number)).one()


def set_expiry(number: str, day: date) -> None:
    """The label's validity ends on `day` (as if it had been issued earlier)."""
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        label.expires_on = day
        session.add(label)
        session.commit()


def cite(world: World, group: benchmarks.Group, value: float, year: int = 2023) -> dict:
    response = world.call(
        "root",
        "POST",
        "/api/v1/benchmarks/cited",
        json={
            "group": group.key,
            "year": year,
            "value": value,
            "citation": f"Test industry average of {group.product_class}, {year}",
            "citation_zh": f"测试用 {group.product_class} 行业平均值，{year} 年",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()
