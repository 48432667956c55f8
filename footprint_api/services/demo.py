"""Demo organisations, users and the example inventories, for the embedded mode (`make run`).

Passwords are generated at every start and printed once; nothing secret is stored in the repository.
"""

import json
import secrets

from sqlmodel import Session, col, select

from footprint_api.infra.security import Principal, hash_secret
from footprint_api.persistence.models import (
    Application,
    Label,
    Organisation,
    OrganisationKind,
    Product,
    ProductCategoryRule,
    Role,
    User,
)
from footprint_api.services import (
    accounts,
    audit,
    catalogue,
    certification,
    factor_database,
    footprints,
    inventories,
    pcr_registry,
)
from footprint_api.services.jobs import calculate as _calculate
from pcr_rules import examples
from pcr_rules.inventory import Inventory

DEMO_ORGANISATIONS = [
    ("PCF platform", OrganisationKind.PLATFORM, [("admin@pcf.example", "Platform administrator", Role.PLATFORM_ADMIN)]),
    (
        "Demo Manufacturing Group",
        OrganisationKind.MANUFACTURER,
        [
            ("admin@manufacturer.example", "Manufacturer administrator", Role.MANUFACTURER_ADMIN),
            ("engineer@manufacturer.example", "LCA engineer", Role.MANUFACTURER_MEMBER),
        ],
    ),
    (
        "Other Manufacturer Ltd",
        OrganisationKind.MANUFACTURER,
        [("admin@other.example", "Other administrator", Role.MANUFACTURER_ADMIN)],
    ),
    (
        "Demo Certification Body",
        OrganisationKind.CERTIFICATION_BODY,
        [
            ("verifier@cb.example", "Lead verifier", Role.VERIFIER),
            ("admin@cb.example", "CB administrator", Role.CB_ADMIN),
        ],
    ),
    (
        "PCF PCR committee",
        OrganisationKind.STANDARDS_BODY,
        [
            ("author@pcr.example", "PCR author", Role.PCR_AUTHOR),
            ("chair@pcr.example", "PCR committee chair", Role.PCR_CHAIR),
        ],
    ),
    (
        "Demo Procurement Centre",
        OrganisationKind.PROCUREMENT,
        [
            ("officer@buyer.example", "Procurement officer", Role.PROCUREMENT_OFFICER),
            ("admin@buyer.example", "Procurement administrator", Role.PROCUREMENT_ADMIN),
        ],
    ),
]

# what each demo organisation registers (made-up codes with a valid GB 32100-2015 check character; demo addresses)
DEMO_REGISTRATION = {
    "Demo Manufacturing Group": {
        "uscc": "91520100MA6DEM001K",
        "address": "贵州省贵阳市观山湖区示范大道 1 号",
        "contact_name": "王工",
        "contact_phone": "0851-8800 0001",
        "contact_email": "engineer@manufacturer.example",
    },
    "Demo Certification Body": {
        "uscc": "12100000MB1CERT00E",
        "address": "北京市朝阳区认证路 8 号",
        "contact_name": "李审核员",
        "contact_phone": "010-6500 0008",
        "contact_email": "verifier@cb.example",
    },
    "PCF PCR committee": {"uscc": "51110000MJ0PCRC007", "address": "北京市海淀区标准路 3 号"},
}


def seed(session: Session) -> dict[str, str]:
    """Create what is missing; give every demo user a fresh password. Returns e-mail -> password.

    The example inventories are loaded, calculated and certified once, on the first start: afterwards the demo is
    the users' own data, and a restart never applies for, certifies or labels anything nobody asked for."""
    first_start = (
        session.exec(select(Organisation).where(Organisation.name == DEMO_ORGANISATIONS[1][0])).first() is None
    )
    credentials: dict[str, str] = {}
    for name, kind, users in DEMO_ORGANISATIONS:
        organisation = session.exec(select(Organisation).where(Organisation.name == name)).first()
        if organisation is None:
            organisation = accounts.create_organisation(session, None, name, kind, **DEMO_REGISTRATION.get(name, {}))
        for email, person, role in users:
            password = secrets.token_urlsafe(12)
            credentials[email] = password
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None:
                accounts.create_user(session, None, organisation.id, email, person, password, role)
            else:
                user.password_hash = hash_secret(password)
                session.add(user)
                audit.record(
                    session, audit.SYSTEM, "user.password_reset", "user", user.id, organisation_id=organisation.id
                )
                audit.commit(session)
    _steward_seeded_pcrs(session)
    if first_start:
        _load_examples(session)
        _certify_examples(session)
        _consent_examples(session)
    return credentials


def _steward_seeded_pcrs(session: Session) -> None:
    """The PCRs seeded from the package's files, without a standards body yet, go to the demo committee."""
    committee = session.exec(select(Organisation).where(Organisation.name == "PCF PCR committee")).one()
    for family in session.exec(select(ProductCategoryRule).where(col(ProductCategoryRule.steward_id).is_(None))).all():
        pcr_registry.assign_steward(session, None, family.id, committee.id)


def _load_examples(session: Session) -> None:
    principal = _principal(session, "engineer@manufacturer.example")
    found = examples.paths()
    if not found:
        raise RuntimeError(
            "the example inventories are missing from the installed package (pcr_rules/examples/"
            "*.json): reinstall pcf-service"
        )
    for path in found:
        inventory = Inventory.model_validate(json.loads(path.read_text(encoding="utf-8")))
        name = f"{inventory.product.name} ({path.stem})"
        if session.exec(select(Product).where(Product.name == name)).first():
            continue
        product = catalogue.create_product(
            session, principal, name, inventory.pcr.id, inventory.product.model, inventory.product.gtin
        )
        site = inventory.facility
        facility = catalogue.create_facility(session, principal, site.name, site.province, site.grid_region)
        record = inventories.submit_inventory(session, principal, product.id, inventory, facility.id)
        job = footprints.request_calculation(session, principal, record.id)
        footprints.run_job(session, job.id, _calculate)


def _principal(session: Session, email: str) -> Principal:
    user = session.exec(select(User).where(User.email == email)).one()
    return Principal(user.id, "user", user.organisation_id, user.role, "seed", None)


def _certify_examples(session: Session) -> None:
    """Every demo footprint certified by the demo body and labelled, so that a first visitor can verify one."""
    engineer = _principal(session, "engineer@manufacturer.example")
    verifier = _principal(session, "verifier@cb.example")
    applied = set(session.exec(select(Application.footprint_id)).all())
    for footprint in footprints.list_footprints(session, engineer):
        if footprint.id in applied:
            continue
        application = certification.apply(session, engineer, footprint.id, verifier.organisation_id, "footprint")
        certification.act(session, engineer, application.id, "submit", "demo application")
        for action in ("start_review", "approve", "issue_label"):
            certification.act(session, verifier, application.id, action, "demo review")


def _consent_examples(session: Session) -> None:
    """The demo manufacturer consents, named, that its labels enter the factor database: one organisation stands
    behind the demo's labels, so only named consent lets a first release be cut from them (services.factor_database,
    the disclosure rule)."""
    engineer = _principal(session, "engineer@manufacturer.example")
    for label in session.exec(select(Label).where(Label.organisation_id == engineer.organisation_id)).all():
        factor_database.give_consent(session, engineer, label.number, "named")


def label_urls(session: Session) -> list[str]:
    return [
        f"{label.number}  {label.product_name}: {label.value} kg CO2e / {label.declared_unit}  /V/{label.number}"
        for label in session.exec(select(Label).order_by(Label.number))
    ]
