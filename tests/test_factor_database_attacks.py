"""The factor database attacked as its users and a malicious reader would: what releases give away when read side by
side (one company withdrawing or joining between two releases, a gas only one company emits, provincial against
national entries), malformed input to every route and form, consent on labels it must not take, a race of two
admins, the immutability of a cut release, and the openLCA package read as olca-schema 2 says.

Labels here are written row by row (organisation, product, inventory, job, footprint, application, label, consent)
into the test world's database, each group in a reference year of its own so that the tests' releases do not
disturb each other's groups. Every value is kg CO2e per 1 t of cement (PCR-CN-CEMENT 1.0.0, no product class); a
label's gases are CO2 (fossil) = value − 29.8 kg and CH4 (fossil) 1 kg = 29.8 kg CO2e, unless a test says otherwise.
"""

import hashlib
import io
import itertools
import json
import re
import threading
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from footprint_api.core.errors import Conflict, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    FactorConsent,
    FactorEntry,
    FactorRelease,
    Footprint,
    InventoryRecord,
    Job,
    JobStatus,
    Label,
    Organisation,
    OrganisationKind,
    Product,
    Role,
    SigningKey,
)
from footprint_api.services import factor_database
from footprint_api.services.verification import today
from label_service.numbering import label_number
from tests.browser import browser  # noqa: F401  (a fixture)
from tests.web_client import Browser

CEMENT = "PCR-CN-CEMENT"
SEQUENCES = itertools.count(700_000)  # label numbers far from those the world issues
RELEASES = (f"2040.{n}" for n in itertools.count(1))  # release numbers, each after the one before
CO2, CH4, SF6, BUCKET = "CO2 (fossil)", "CH4 (fossil)", "SF6", "CO2e not resolved by gas"


def gases_of(value: float, **more: tuple[float, float]) -> dict:
    """A label's per-gas result: CO2 (fossil) value − 29.8 kg, CH4 (fossil) 1 kg (29.8 kg CO2e), and `more`
    (gas -> (mass, CO2e)) taken out of the CO2 so that the gases still add up to the value."""
    extra = sum(co2e for _, co2e in more.values())
    found = {CO2: {"mass_kg": value - 29.8 - extra, "kg_co2e": value - 29.8 - extra}}
    found[CH4] = {"mass_kg": 1.0, "kg_co2e": 29.8}
    for gas, (mass, co2e) in more.items():
        found[gas.replace("_", " ")] = {"mass_kg": mass, "kg_co2e": co2e}
    return found


class Seeder:
    """Manufacturers, a certification body and labels with their whole chain, as issuance and consent leave them."""

    def __init__(self):
        with session_scope() as session:
            self.body = Organisation(name=f"body {uuid.uuid4().hex[:6]}", kind=OrganisationKind.CERTIFICATION_BODY)
            session.add(self.body)
            session.flush()
            self.kid = uuid.uuid4().hex[:16]
            session.add(SigningKey(kid=self.kid, organisation_id=self.body.id, public_key="x"))
            session.commit()
            self.body_id = self.body.id
        self.organisations: dict[str, uuid.UUID] = {}

    def organisation(self, name: str) -> uuid.UUID:
        if name not in self.organisations:
            with session_scope() as session:
                made = Organisation(name=f"{name} cement {uuid.uuid4().hex[:4]}", kind=OrganisationKind.MANUFACTURER)
                session.add(made)
                session.commit()
                self.organisations[name] = made.id
        return self.organisations[name]

    def label(
        self,
        organisation: str,
        value: float,
        year: int,
        *,
        province: str = "Guizhou",
        consent: str | None = "anonymous",
        gases: dict | None = None,
        dqr: float | None = 1.5,
        state: str = "active",
        expires_on=None,
        kind: str = "footprint",
    ) -> str:
        """A label of `organisation` for a footprint of reference year `year`; its number."""
        organisation_id = self.organisation(organisation)
        sequence = next(SEQUENCES)
        issued = today() - timedelta(days=30)
        with session_scope() as session:
            made = Product(organisation_id=organisation_id, name=f"cement {sequence}", pcr_id=CEMENT)
            session.add(made)
            session.flush()
            data = {
                "pcr": {"id": CEMENT, "version": "1.0.0"},
                "product": {"name": made.name},
                "facility": {"name": "kiln", "province": province},
                "reference_period": {"start": f"{year}-01-01", "end": f"{year}-12-31"},
            }
            record = InventoryRecord(
                organisation_id=organisation_id,
                product_id=made.id,
                version=1,
                pcr_id=CEMENT,
                pcr_version="1.0.0",
                data=data,
            )
            session.add(record)
            session.flush()
            job = Job(organisation_id=organisation_id, inventory_id=record.id, status=JobStatus.SUCCEEDED)
            session.add(job)
            session.flush()
            result = {"per_gas": gases if gases is not None else gases_of(value)}
            if dqr is not None:
                result["data_quality"] = {"dqr": dqr}
            footprint = Footprint(
                organisation_id=organisation_id,
                inventory_id=record.id,
                job_id=job.id,
                pcr_id=CEMENT,
                pcr_version="1.0.0",
                factor_set="cn-2025.1",
                total_kg_co2e=value,
                declared_unit="1 t",
                result=result,
            )
            session.add(footprint)
            session.flush()
            application = Application(
                organisation_id=organisation_id,
                certification_body_id=self.body_id,
                footprint_id=footprint.id,
                product_id=made.id,
                state="closed",
            )
            session.add(application)
            session.flush()
            label = Label(
                number=label_number(2026, sequence),
                year=2026,
                sequence=sequence,
                application_id=application.id,
                footprint_id=footprint.id,
                organisation_id=organisation_id,
                issuer_id=self.body_id,
                kind=kind,
                pcr_id=CEMENT,
                pcr_version="1.0.0",
                product_name=made.name,
                manufacturer_name=f"{organisation} cement",
                value=f"{value:.4g}",
                total_kg_co2e=value,
                declared_unit="1 t",
                issued_on=issued,
                expires_on=expires_on or issued + timedelta(days=3 * 365),
                state=state,
                key_id=self.kid,
                token="t",
                qr_content="q",
            )
            session.add(label)
            session.flush()
            if consent is not None:
                session.add(FactorConsent(label_id=label.id, organisation_id=organisation_id, level=consent))
            session.commit()
            return label.number

    def withdraw(self, number: str) -> None:
        with session_scope() as session:
            label = session.exec(select(Label).where(Label.number == number)).one()
            consent = session.exec(select(FactorConsent).where(FactorConsent.label_id == label.id)).one()
            consent.withdrawn_at = datetime.now(UTC)
            session.add(consent)
            session.commit()

    def set_state(self, number: str, state: str) -> None:
        with session_scope() as session:
            label = session.exec(select(Label).where(Label.number == number)).one()
            label.state = state
            session.add(label)
            session.commit()


@pytest.fixture(scope="module")
def seeder(world):
    """The seeder, and one named label of its own group (2010) so that no release of this module is empty."""
    found = Seeder()
    found.label("anchor", 777, 2010, consent="named")
    return found


@pytest.fixture(scope="module")
def root(world):
    """The platform administrator, as the services see it."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    return Principal(uuid.uuid4(), "user", world.organisations["platform"], Role.PLATFORM_ADMIN, "jti", expires)


def cut(root) -> FactorRelease:
    with session_scope() as session:
        found = factor_database.cut(session, root, next(RELEASES), "Release", "版本")
        session.expunge(found)
        return found


def entries(number: str) -> dict[str, FactorEntry]:
    with session_scope() as session:
        found = factor_database.release(session, number)
        rows = factor_database.entries(session, found)
        for row in rows:
            session.expunge(row)
        return {row.key: row for row in rows}


def key(year: int, place: str = "guizhou") -> str:
    return f"PCR-CN-CEMENT_v1_all_1t_{year}_{place}"


def published_json(world, number: str) -> dict:
    response = world.call(None, "GET", f"/api/v1/factor-releases/{number}/files/json")
    assert response.status_code == 200, response.text
    return json.loads(response.content)


# --- disclosure: what two releases, or two entries, give away together -------------------------------------------


def test_a_company_withdrawing_between_releases_is_not_given_away_by_the_difference(world, seeder, root):
    """Release 1: A, B, C, D (800, 850, 900, 700), mean (800 + 850 + 900 + 700) / 4 = 812.5. D withdraws. Had
    release 2 published A, B, C (mean 850), a reader would compute D's value 4 × 812.5 − 3 × 850 = 700 and D's
    gases the same way (CO2 4 × 782.7 − 3 × 820.2 = 670.2 kg): release 2 must withhold the entry."""
    year = 2011
    numbers = [seeder.label(o, v, year) for o, v in (("A", 800), ("B", 850), ("C", 900), ("D", 700))]
    first = cut(root)
    assert entries(first.number)[key(year)].value == pytest.approx(812.5)
    seeder.withdraw(numbers[3])
    second = cut(root)
    assert key(year) not in entries(second.number)
    assert key(year, "national") not in entries(second.number)
    with session_scope() as session:
        withheld = {d.key: d.withheld for d in factor_database.preview(session, root).withheld}
    assert withheld[key(year)] == factor_database.EARLIER


def test_a_company_joining_between_releases_is_not_given_away_by_the_difference(world, seeder, root):
    """Release 1: A, B, C (800, 850, 900), mean 850. D (760) consents. Had release 2 published the four, mean
    (800 + 850 + 900 + 760) / 4 = 827.5, D's value would be 4 × 827.5 − 3 × 850 = 760: withheld. When E, F, G
    (810, 820, 830) join too, the seven are published, mean (2550 + 760 + 2460) / 7 = 5770 / 7 = 824.29: the
    difference with release 1 is four organisations' sum."""
    year = 2012
    for organisation, value in (("A", 800), ("B", 850), ("C", 900)):
        seeder.label(organisation, value, year)
    first = cut(root)
    assert entries(first.number)[key(year)].value == pytest.approx(850.0)
    seeder.label("D", 760, year)
    second = cut(root)
    assert key(year) not in entries(second.number)
    for organisation, value in (("E", 810), ("F", 820), ("G", 830)):
        seeder.label(organisation, value, year)
    third = cut(root)
    found = entries(third.number)[key(year)]
    assert (found.label_count, found.value) == (7, pytest.approx(5770 / 7))


def test_a_gas_only_one_company_emits_is_not_shown_apart(world, seeder, root):
    """A, B, C (800, 850, 900); only C's footprint has SF6: 0.01 kg, 0.01 × 24,300 = 243 kg CO2e (taken out of its
    CO2: 900 − 29.8 − 243 = 627.2 kg). An SF6 line of mean 0.01 / 3 kg would be C's own SF6 divided by 3: the SF6
    goes into 'CO2e not resolved by gas' as its CO2e. Alone there it would still be C's (243 / 3 = 81), so the gas of
    the fewest emitters after it, CH4 (A, B, C: 29.8 each), joins it: (3 × 29.8 + 243) / 3 = 110.8 kg CO2e per t.
    CO2 stays apart: (770.2 + 820.2 + 627.2) / 3 = 739.2; and 739.2 + 110.8 = 850 = the mean."""
    year = 2013
    seeder.label("A", 800, year)
    seeder.label("B", 850, year)
    seeder.label("C", 900, year, gases=gases_of(900, SF6=(0.01, 243.0)))
    found = entries(cut(root).number)[key(year)]
    assert set(found.gases) == {CO2, BUCKET}
    assert found.gases[BUCKET] == pytest.approx({"mass_kg": 110.8, "kg_co2e": 110.8})
    assert found.gases[CO2]["kg_co2e"] == pytest.approx(739.2)
    assert sum(gas["kg_co2e"] for gas in found.gases.values()) == pytest.approx(850.0)


def test_a_gas_of_one_province_is_not_given_away_by_national_less_provincial(world, seeder, root):
    """Guizhou: A, B, C with SF6 each (0.01 kg, 243 kg CO2e); Hebei: D, E, F, of which only D has SF6 (0.02 kg,
    486 kg CO2e); every label 850. Each entry stands for three organisations, but SF6 lines would give D's SF6:
    Hebei's alone (3 × 0.02 / 3), and 6 × national − 3 × Guizhou = 6 × 0.05 / 6 − 3 × 0.03 / 3 = 0.02 kg. The group's
    SF6 goes into 'CO2e not resolved by gas' (and CH4 with it, else D's SF6 would be alone there in Hebei); each
    entry's gases still add up to 850."""
    year = 2014
    for organisation in "ABC":
        seeder.label(organisation, 850, year, gases=gases_of(850, SF6=(0.01, 243.0)))
    seeder.label("D", 850, year, province="Hebei", gases=gases_of(850, SF6=(0.02, 486.0)))
    seeder.label("E", 850, year, province="Hebei")
    seeder.label("F", 850, year, province="Hebei")
    found = entries(cut(root).number)
    for place in ("guizhou", "hebei", "national"):
        entry = found[key(year, place)]
        assert set(entry.gases) == {CO2, BUCKET}, place
        assert sum(gas["kg_co2e"] for gas in entry.gases.values()) == pytest.approx(850.0)
    assert found[key(year, "hebei")].gases[BUCKET]["kg_co2e"] == pytest.approx((3 * 29.8 + 486.0) / 3)


def test_anonymous_labels_are_never_listed_but_kept_for_the_rule(world, seeder, root):
    """An anonymous entry names no label in any file or page; the release keeps its labels for the disclosure
    rule of later releases."""
    year = 2015
    numbers = [seeder.label(o, 800 + 10 * i, year) for i, o in enumerate("ABC")]
    number = cut(root).number
    document = published_json(world, number)
    entry = next(e for e in document["entries"] if e["key"] == key(year))
    assert entry["sources"] == [] and entry["named_manufacturer"] is None
    csv = world.call(None, "GET", f"/api/v1/factor-releases/{number}/files/csv").content.decode("utf-8-sig")
    page = Browser(world.client.app, lang="zh-CN").get(f"/factors/{number}/entries/{key(year)}").text
    api = world.call(None, "GET", f"/api/v1/factor-releases/{number}/entries/{key(year)}").json()
    for label in numbers:
        assert label not in csv and label not in page and label not in json.dumps(document)
        assert label not in json.dumps(api)
    assert sorted(entries(number)[key(year)].sources) == sorted(numbers)


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["20٢٦.1", "２０２６.１", "2026.١", "2026.1/../x", "", " ", "2026.0", "2026.01", "1999.1", "x" * 21],
)
def test_a_release_number_of_other_digits_or_shapes_is_refused_naming_the_field(world, number):
    """Only ASCII digits make a release number: '20٢٦.1' (Arabic-Indic digits) matched `\\d` and would have been a
    second "2026.1" beside the first, ordered by int() as the same year."""
    with pytest.raises(Unprocessable) as refused:
        factor_database.checked_release(number, "t", "t", None)
    assert {e["field"] for e in refused.value.errors} == {"number"}


# --- the rule, without a database ------------------------------------------------------------------------------------


def value(label: str, organisation: str, amount: float, province: str | None = "Guizhou", **changes):
    """A consented cement label of 2023 as the rule reads it, anonymous unless changed."""
    fields = {
        "label": label,
        "organisation_id": organisation,
        "manufacturer": f"{organisation} cement",
        "consent": "anonymous",
        "pcr_id": CEMENT,
        "pcr_version": "1.0.0",
        "product_category": "cement",
        "product_class": "",
        "declared_unit": "1 t",
        "reference_year": 2023,
        "province": province,
        "value": amount,
        "gases": {
            CO2: factor_database.GasAmount(amount - 29.8, amount - 29.8),
            CH4: factor_database.GasAmount(1.0, 29.8),
        },
        "dqr": 1.5,
    }
    return factor_database.CertifiedValue(**{**fields, **changes})


def shown_of(draft, labels=None) -> factor_database.Shown:
    """An entry of an earlier release, as published_before reads it from the database."""
    return factor_database.Shown(
        (draft.pcr_id, draft.pcr_major, draft.product_class, draft.declared_unit, draft.reference_year),
        frozenset(labels or draft.labels),
        frozenset(draft.gases) - {BUCKET},
        draft.dqr is not None,
    )


def by_key(found) -> dict:
    return {draft.key: draft for draft in found}


GUIZHOU, HEBEI, NATIONAL = (f"PCR-CN-CEMENT_v1_all_1t_2023_{place}" for place in ("guizhou", "hebei", "national"))


def test_a_company_leaving_while_three_join_is_published():
    """Release 1: A, B, C, D (800, 850, 900, 700). Now D has left and E, F, G (810, 820, 830) joined. Release 1's
    sum is A + B + C + D = 3250, this one's A + B + C + E + F + G = 5010: their difference is (E + F + G) − D = 1760,
    nobody's value, and neither sum gives D or any one of E, F, G. Published: mean 5010 / 6 = 835."""
    first = [value("L1", "A", 800), value("L2", "B", 850), value("L3", "C", 900), value("L4", "D", 700)]
    earlier = [shown_of(d) for d in factor_database.drafts(first) if d.published]
    now = [*first[:3], value("L5", "E", 810), value("L6", "F", 820), value("L7", "G", 830)]
    found = by_key(factor_database.drafts(now, earlier, {"L4": factor_database._contributor(first[3])}))
    assert found[GUIZHOU].published and found[GUIZHOU].value == pytest.approx(835.0)


def test_a_named_company_alone_in_a_province_does_not_unmask_two_anonymous_ones():
    """Guizhou: A alone, consented named (800): published with its name. Hebei: B, C anonymous (850, 900), withheld.
    The national entry of three organisations, mean (800 + 850 + 900) / 3 = 850, less A's published 800 gives
    3 × 850 − 800 = 1750 = B + C: each of B and C would read the other's value. Withheld."""
    values = [
        value("L1", "A", 800, consent="named"),
        value("L2", "B", 850, province="Hebei"),
        value("L3", "C", 900, province="Hebei"),
    ]
    found = by_key(factor_database.drafts(values))
    assert found[GUIZHOU].published and found[GUIZHOU].named_manufacturer == "A cement"
    assert found[HEBEI].withheld == factor_database.FEW_ORGANISATIONS
    assert found[NATIONAL].withheld == factor_database.COMPLEMENT


def test_a_companys_second_plant_alone_in_a_province_is_not_unmasked():
    """Guizhou: A's plant 1, B, C (800, 850, 900), published; Hebei: A's plant 2 (700) alone, withheld. The national
    entry (3 organisations, 4 labels) less Guizhou is A's second plant: 4 × 812.5 − 3 × 850 = 700. Withheld."""
    values = [
        value("L1", "A", 800),
        value("L2", "B", 850),
        value("L3", "C", 900),
        value("L4", "A", 700, province="Hebei"),
    ]
    found = by_key(factor_database.drafts(values))
    assert found[NATIONAL].organisation_count == 3 and found[NATIONAL].withheld == factor_database.COMPLEMENT


def test_a_dqr_mean_of_two_companies_is_left_out():
    """A (DQR 1.0), B (2.0), C (no DQR): the entry is published (three organisations) but its DQR would be the
    mean of A and B, (1.0 + 2.0) / 2 = 1.5, from which each reads the other's: the entry gives no DQR."""
    values = [value("L1", "A", 800, dqr=1.0), value("L2", "B", 850, dqr=2.0), value("L3", "C", 900, dqr=None)]
    found = by_key(factor_database.drafts(values))
    assert found[GUIZHOU].published and found[GUIZHOU].dqr is None


def test_three_dqrs_stand():
    """A, B, C with DQR 1.0, 2.0, 3.0: mean (1 + 2 + 3) / 3 = 2.0, published."""
    values = [value("L1", "A", 800, dqr=1.0), value("L2", "B", 850, dqr=2.0), value("L3", "C", 900, dqr=3.0)]
    assert by_key(factor_database.drafts(values))[GUIZHOU].dqr == pytest.approx(2.0)


def test_a_label_without_a_province_counts_only_in_the_national_entry():
    """A label whose inventory gives no province would have made a provincial entry keyed `..._national`, the key of
    the national entry: two entries of one key, and no release could be cut. It counts in the national entry only:
    A, B, C of Guizhou and D of no province: the national mean (800 + 850 + 900 + 700) / 4 = 812.5 would give D
    (4 × 812.5 − 3 × 850 = 700): withheld."""
    values = [value("L1", "A", 800), value("L2", "B", 850), value("L3", "C", 900), value("L4", "D", 700, province=None)]
    found = factor_database.drafts(values)
    assert [d.key for d in found] == [GUIZHOU, NATIONAL]
    assert by_key(found)[NATIONAL].withheld == factor_database.COMPLEMENT


def test_exposed_finds_the_difference_of_two_sums():
    """Figures {a, b, c, d} and {a, b, c}: their difference is d alone (one organisation)."""
    who = {label: factor_database.Contributor(label.upper(), False, frozenset(), True) for label in "abcd"}
    figures = [frozenset((label, "value") for label in "abcd"), frozenset((label, "value") for label in "abc")]
    assert factor_database.exposed(figures, who) == {frozenset({"D"})}
    assert factor_database.exposed(figures[:1], who) == set()


# --- consent on labels it must not take --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def acme(world, seeder):
    """Acme's labels written row by row (acme's own people sign in to consent)."""
    seeder.organisations["acme"] = world.organisations["acme"]
    return seeder


@pytest.mark.parametrize(
    ("state", "expired", "status"),
    [
        ("suspended", False, "SUSPENDED"),
        ("revoked", False, "REVOKED"),
        ("superseded", False, "SUPERSEDED"),
        ("active", True, "EXPIRED"),
    ],
)
def test_consent_on_a_label_not_in_force_is_refused_naming_the_label_and_nothing_is_stored(
    world, acme, state, expired, status
):
    number = acme.label(
        "acme", 800, 2016, consent=None, state=state, expires_on=today() - timedelta(days=1) if expired else None
    )
    refused = world.call("acme-admin", "PUT", f"/api/v1/labels/{number}/factor-consent", json={"level": "named"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0] == {
        "field": "number",
        "reason": "label not in force",
        "code": "factors.consent.not_in_force",
    }
    assert f"({status})" in refused.json()["detail"]
    page = Browser(world.client.app, "acme-admin", lang="zh-CN")
    answer = page.post_form("/app/factors/consent", f"/app/factors/consent/{number}", {"level": "anonymous"})
    assert answer.status_code == 409 and f"标签 {number} 当前无效" in answer.text
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        assert session.exec(select(FactorConsent).where(FactorConsent.label_id == label.id)).first() is None
        assert session.exec(select(AuditEvent).where(AuditEvent.object_id == number)).first() is None


def test_consent_on_a_low_carbon_label_is_refused_naming_the_label(world, acme):
    """A low-carbon label was consentable (200, audited) yet never entered a release (only footprint labels do):
    now a 422 naming the label, on the API and on the page in Chinese."""
    number = acme.label("acme", 800, 2016, consent=None, kind="low_carbon")
    refused = world.call("acme-admin", "PUT", f"/api/v1/labels/{number}/factor-consent", json={"level": "named"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0] == {
        "field": "number",
        "reason": "not a footprint label",
        "code": "factors.consent.not_footprint",
    }
    page = Browser(world.client.app, "acme-admin", lang="zh-CN")
    answer = page.post_form("/app/factors/consent", f"/app/factors/consent/{number}", {"level": "anonymous"})
    assert answer.status_code == 422 and f"标签 {number} 不是碳足迹标签" in answer.text
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        assert session.exec(select(FactorConsent).where(FactorConsent.label_id == label.id)).first() is None


def test_consent_on_another_organisations_label_or_an_odd_number_answers_404(world, acme):
    number = acme.label("acme", 800, 2016, consent=None)
    for who in ("rival-admin", "rival-engineer"):
        refused = world.call(who, "PUT", f"/api/v1/labels/{number}/factor-consent", json={"level": "named"})
        assert refused.status_code == 404
        assert refused.json()["errors"][0]["code"] == "factors.consent.unknown_label"
    for odd in ("x" * 10_000, "PCF-2026-000001-%2F..", "０１２"):
        answer = world.call("acme-admin", "PUT", f"/api/v1/labels/{odd}/factor-consent", json={"level": "named"})
        assert answer.status_code == 404, (odd[:20], answer.status_code)
    page = Browser(world.client.app, "acme-admin", lang="zh-CN")
    answer = page.post_form("/app/factors/consent", "/app/factors/consent/" + "9" * 10_000, {"level": "named"})
    assert answer.status_code == 404 and "本机构没有编号为" in answer.text
    alert = re.search(r'<div class="error" role="alert">(.*?)</div>', answer.text, re.S).group(1)
    assert len(alert) < 300  # the number is echoed cut short


def test_a_consent_form_without_its_token_is_refused(world, acme):
    number = acme.label("acme", 800, 2016, consent=None)
    page = Browser(world.client.app, "acme-admin", lang="zh-CN")
    page.get("/app/factors/consent")
    refused = page.client.post(f"/app/factors/consent/{number}", data={"level": "named"})
    assert refused.status_code == 403
    with session_scope() as session:
        label = session.exec(select(Label).where(Label.number == number)).one()
        assert session.exec(select(FactorConsent).where(FactorConsent.label_id == label.id)).first() is None


# --- cutting: bad input, a race, immutability -----------------------------------------------------------------------


def releases_count() -> int:
    with session_scope() as session:
        return len(factor_database.releases(session))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "2099.1" + "1" * 15}, "number"),
        ({"number": "2099.1/../x"}, "number"),
        ({"number": "20٢٦.1"}, "number"),
        ({"title": "t" * 10_240}, "title"),
        ({"title_zh": "标" * 10_240}, "title_zh"),
        ({"notes": "n" * 5_001}, "notes"),
        ({"title": "bell\x07"}, "title"),
    ],
)
def test_a_release_of_bad_fields_is_a_422_naming_the_field_and_nothing_is_cut(world, seeder, body, field):
    before = releases_count()
    answer = world.call(
        "root", "POST", "/api/v1/factor-releases", json={"number": "2099.1", "title": "T", "title_zh": "标题", **body}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in answer.json()["errors"]}
    assert releases_count() == before


def test_a_title_of_10_kb_on_the_page_is_refused_in_chinese_next_to_its_field(world, seeder):
    before = releases_count()
    admin = Browser(world.client.app, "root", lang="zh-CN")
    refused = admin.post_form(
        "/app/factors/releases/new",
        "/app/factors/releases",
        {"number": "2099.1", "title_zh": "标" * 10_240, "title": "T", "notes": ""},
    )
    assert refused.status_code == 422
    assert 'id="e-title_zh"' in refused.text and "标题不得超过 300 个字符" in refused.text
    assert releases_count() == before


def test_a_manufacturer_cannot_cut_or_preview(world, seeder):
    for who in ("acme-admin", "acme-engineer", "cb-verifier"):
        answer = world.call(
            who, "POST", "/api/v1/factor-releases", json={"number": "2099.1", "title": "T", "title_zh": "T"}
        )
        assert answer.status_code == 403
        assert world.call(who, "GET", "/api/v1/factor-releases/preview").status_code == 403


def test_two_admins_cutting_one_number_at_once_leave_one_release(world, seeder, root):
    """Two platform admins cut the same number at the same moment: one release is cut, the other admin is answered
    409 naming the number, and the refused cut leaves no entry or audit event of its own."""
    number = next(RELEASES)
    answers: list[object] = []

    def cut_as(title: str) -> None:
        try:
            with session_scope() as session:
                answers.append(factor_database.cut(session, root, number, title, "版本").number)
        except Conflict as refused:
            answers.append(refused)

    threads = [threading.Thread(target=cut_as, args=(title,)) for title in ("first admin", "second admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [answer for answer in answers if isinstance(answer, Conflict)]
    assert answers.count(number) == 1 and len(refused) == 1
    assert refused[0].errors[0]["field"] == "number" and refused[0].code == "factors.release.number_taken"
    with session_scope() as session:
        (release,) = session.exec(select(FactorRelease).where(FactorRelease.number == number)).all()
        assert len(session.exec(select(AuditEvent).where(AuditEvent.object_id == number)).all()) == 1
        counted = session.exec(select(FactorEntry).where(FactorEntry.release_id == release.id)).all()
        assert len(counted) == release.entry_count


def test_a_cut_release_never_changes_when_its_labels_are_revoked_or_withdrawn(world, seeder, root):
    """Release of A, B, C (2017: 800, 850, 900, mean 850); then A's label revoked and B's consent withdrawn: the
    release's JSON file is byte for byte the same, its SHA-256 still the digest, its entry still 850."""
    year = 2017
    numbers = [seeder.label(o, v, year) for o, v in (("A", 800), ("B", 850), ("C", 900))]
    release = cut(root)
    before = world.call(None, "GET", f"/api/v1/factor-releases/{release.number}/files/json").content
    assert hashlib.sha256(before).hexdigest() == release.digest
    seeder.set_state(numbers[0], "revoked")
    seeder.withdraw(numbers[1])
    cut(root)  # a later release, which leaves the group out
    after = world.call(None, "GET", f"/api/v1/factor-releases/{release.number}/files/json").content
    assert after == before and hashlib.sha256(after).hexdigest() == release.digest
    assert world.call(None, "GET", f"/api/v1/factor-releases/{release.number}").json()["digest"] == release.digest
    entry = world.call(None, "GET", f"/api/v1/factor-releases/{release.number}/entries/{key(year)}").json()
    assert entry["value_kg_co2e"] == pytest.approx(850.0)


# --- reading: odd keys, numbers and file names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/factor-releases/2040.1/entries/" + "k" * 10_240, "key"),
        ("/api/v1/factor-releases/2040.1/entries/a%2F..%2Fb", None),  # no route has a '/' in a key
        ("/api/v1/factor-releases/2040.1/files/passwd", "name"),
        ("/api/v1/factor-releases/2040.1/files/..%2F..%2Fetc", None),
        ("/api/v1/factor-releases/" + "2" * 10_240, "number"),
        ("/api/v1/factor-releases/20%D9%A2%D9%A6.1", "number"),
    ],
)
def test_odd_keys_numbers_and_file_names_answer_404(world, seeder, root, path, field):
    """An unknown release, entry or file answered 404 naming no field; now the field it did not find (`number`,
    `key`, `name`). A '/' in a key or file name reaches no route at all."""
    if not releases_count():
        cut(root)
    answer = world.call(None, "GET", path)
    assert answer.status_code == 404, (path[:80], answer.status_code)
    assert answer.headers["content-type"] == "application/problem+json"
    if field:  # a route that matched names what it did not find
        assert answer.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "path",
    ["/factors/2040.1/entries/" + "k" * 10_240, "/factors/" + "2" * 10_240, "/factors/2040.1?province=" + "x" * 101],
)
def test_odd_pages_answer_4xx_in_chinese(world, seeder, root, path):
    if not releases_count():
        cut(root)
    answer = Browser(world.client.app, lang="zh-CN").get(path)
    assert 400 <= answer.status_code < 500, (path[:60], answer.status_code)
    assert "<html" in answer.text and 'lang="zh' in answer.text


# --- the openLCA package -----------------------------------------------------------------------------------------


def package_of(number: str, declared_units: dict[str, str]) -> dict:
    """The olca-schema zip of a release whose entries have these declared units (key -> unit), opened."""
    from footprint_api.exports import factor_release
    from footprint_api.exports.factor_release import EntryNames

    rows = [
        FactorEntry(
            release_id=uuid.uuid4(),
            key=entry_key,
            pcr_id=CEMENT,
            pcr_major=1,
            pcr_versions=["1.0.0"],
            product_category="cement",
            product_class="",
            declared_unit=unit,
            reference_year=2023,
            province="Guizhou",
            value=785.0,
            gases={CO2: {"mass_kg": 755.2, "kg_co2e": 755.2}, CH4: {"mass_kg": 1.0, "kg_co2e": 29.8}},
            dqr=1.5,
            label_count=3,
            organisation_count=3,
            value_min=700.0,
            value_max=900.0,
            value_sd=50.0,
        )
        for entry_key, unit in declared_units.items()
    ]
    release = FactorRelease(
        number=number,
        title="T",
        title_zh="T",
        entry_count=len(rows),
        label_count=3,
        digest="",
        cut_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    names = EntryNames("cement", "水泥", "All cement", "全部水泥", "Guizhou", "贵州")
    changes = {"previous": None, "added": [], "removed": [], "changed": [], "unchanged": 0}
    files = factor_release.render(release, datetime(2026, 1, 2).date(), rows, changes, lambda _: names, 3)
    with zipfile.ZipFile(io.BytesIO(files["jsonld"])) as archive:
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


def reference_output(package: dict) -> dict[str, tuple[float, str, float]]:
    """Each process's key (from its citation) -> (amount, unit, the unit's factor to its group's reference unit)."""
    factors = {
        unit["@id"]: unit["conversionFactor"]
        for name, entity in package.items()
        if name.startswith("unit_groups/")
        for unit in entity["units"]
    }
    found = {}
    for name, process in package.items():
        if name.startswith("processes/"):
            (output,) = [e for e in process["exchanges"] if e["isQuantitativeReference"]]
            entry_key = process["processDocumentation"]["useAdvice"].rsplit("entry ", 1)[1]
            found[entry_key] = (output["amount"], output["unit"]["name"], factors[output["unit"]["@id"]])
    return found


def test_declared_units_keep_their_amount_in_openlcas_units():
    """1 t is 1 t of openLCA's Mass (1000 kg to an importer), never 1 kg; '1 tonne' is openLCA's t; '1 lb' is
    0.45359237 kg (pint); 1 kWh is openLCA's kWh (3.6 MJ); '1 m3' openLCA's m3 of Volume, '1 piece' its Item(s);
    '1 t clinker', of no kind openLCA knows, a unit of its own (factor 1). Before, only the exact names kg, t, g,
    MJ, kWh, MWh, GJ were openLCA's: '1 tonne', '1 lb' or '1 m3' became a unit group of their own ('Amount in
    tonne'), which an LCA database could not link to its mass or volume flows."""
    package = package_of(
        "2026.1",
        {
            "t": "1 t",
            "tonne": "1 tonne",
            "lb": "1 lb",
            "kwh": "1 kWh",
            "m3": "1 m3",
            "piece": "1 piece",
            "odd": "1 t clinker",
        },
    )
    assert reference_output(package) == {
        "t": (1.0, "t", 1000.0),
        "tonne": (1.0, "t", 1000.0),
        "lb": (pytest.approx(0.45359237), "kg", 1.0),
        "kwh": (1.0, "kWh", 3.6),
        "m3": (1.0, "m3", 1.0),
        "piece": (1.0, "Item(s)", 1.0),
        "odd": (1.0, "t clinker", 1.0),
    }


def test_every_id_of_the_package_is_the_same_in_the_next_release():
    """Processes had an id per release (a new dataset each time); now every entity, the processes included, keeps
    its id from release to release, the process's `version` saying which release it is (openLCA's and ecoinvent's
    way to version a dataset)."""
    first, second = package_of("2026.1", {"a": "1 t"}), package_of("2026.2", {"a": "1 t"})
    assert set(first) == set(second)
    (process,) = [entity for name, entity in second.items() if name.startswith("processes/")]
    assert process["version"] == "2026.2" and process["processType"] == "LCI_RESULT"
    (earlier,) = [entity for name, entity in first.items() if name.startswith("processes/")]
    assert earlier["@id"] == process["@id"] and earlier["version"] == "2026.1"


# --- the pages in Chromium, in Chinese, at desktop and phone width ---------------------------------------------------

SHOTS = Path("/tmp/shots/factors")


@pytest.fixture(scope="module")
def served(world):
    from tests.browser import serving

    with serving(world.client.app) as base:
        yield base


def overflowing(page) -> list[str]:
    """What sticks out of the viewport sideways: the page itself, or an element wider than the screen."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const found = [];
            if (document.documentElement.scrollWidth > width + 1) found.push('page ' + document.documentElement.scrollWidth);
            for (const el of document.querySelectorAll('main *')) {
                const box = el.getBoundingClientRect();
                if (box.width > 0 && box.right > width + 1 && getComputedStyle(el).position !== 'fixed') {
                    let scroller = el.parentElement, clipped = false;
                    while (scroller) {
                        const style = getComputedStyle(scroller);
                        if (['auto', 'scroll', 'hidden'].includes(style.overflowX)) { clipped = true; break; }
                        scroller = scroller.parentElement;
                    }
                    if (!clipped) found.push(el.tagName + '.' + el.className + ' ' + Math.round(box.right));
                }
            }
            return found.slice(0, 10);
        }"""
    )


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_factor_pages_read_in_chinese_and_fit_a_phone(world, seeder, root, served, browser, width):
    """Every factor page in Chinese at 1280 and 390 px: no English sentence, nothing wider than the screen (tables
    stack into cards on a phone), accessible, nothing from another host. Screenshots in /tmp/shots/factors.
    Before: at 390 px the release's digest, the entry's key (its heading) and the supplier JSON ran off the screen
    (the page 860 px wide), the tables of the cut and consent pages did not stack (no style sheet had the rules),
    the consent form's hidden label showed, and each table's region had its section's name (axe: landmark-unique)."""
    from tests.browser import Visit, assert_accessible, assert_self_contained, sign_in
    from tests.test_chinese_pages import english_phrases, visible_text

    year = 2018
    for organisation, amount, place in (("A", 800, "Guizhou"), ("B", 850, "Guizhou"), ("C", 900, "Guizhou")):
        seeder.label(organisation, amount, year, province=place)
    number = cut(root).number
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "releases": (None, "/factors"),
        "release": (None, f"/factors/{number}"),
        "entry": (None, f"/factors/{number}/entries/{key(year)}"),
        "cut": ("root", "/app/factors/releases/new"),
        "consent": ("acme-admin", "/app/factors/consent"),
    }
    found = {}
    for name, (user, path) in pages.items():
        tab = Visit(browser, width, "zh")
        try:
            if user:
                sign_in(tab, served, user)
            tab.page.goto(f"{served}{path}")
            tab.page.wait_for_load_state("networkidle")
            tab.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            found[name] = {
                "english": english_phrases(visible_text(tab.page.content())),
                "overflow": overflowing(tab.page),
            }
            assert_accessible(tab.page)
            assert_self_contained(tab, served)
        finally:
            tab.close()
    assert found == {name: {"english": [], "overflow": []} for name in pages}


def test_a_pages_figures_have_five_significant_digits():
    """The pages printed a mean or SD with every binary digit (an SD of 44.721359549995796, a mean of
    803.3333333333334): five significant digits now, grouped, no trailing zeros; the files keep every digit."""
    from footprint_api.web.routes.factors import _figure

    assert [_figure(v) for v in (44.721359549995796, 803.3333333333334, 13995.0, 850.0, 0.9729, 3924.4, None)] == [
        "44.721",
        "803.33",
        "13,995",
        "850",
        "0.9729",
        "3,924.4",
        "—",
    ]


def test_a_named_manufacturer_that_reads_as_a_formula_is_neutralised_in_the_csv():
    """A company named '=HYPERLINK(...)' consented named: its name stands in the CSV as text, not as a formula a
    spreadsheet would run; a negative figure stays a number."""
    import csv

    from footprint_api.exports import factor_release
    from footprint_api.exports.factor_release import EntryNames

    row = FactorEntry(
        release_id=uuid.uuid4(),
        key="k",
        pcr_id=CEMENT,
        pcr_major=1,
        pcr_versions=["1.0.0"],
        product_category="cement",
        product_class="",
        declared_unit="1 t",
        reference_year=2023,
        province=None,
        value=-5.0,
        gases={},
        dqr=None,
        label_count=1,
        organisation_count=1,
        value_min=-5.0,
        value_max=-5.0,
        named_manufacturer='=HYPERLINK("http://x.example","y")',
        sources=["PCF-2026-000001-X"],
    )
    names = EntryNames("cement", "水泥", "All cement", "全部水泥", "China", "全国")
    rows = list(csv.reader(io.StringIO(factor_release.csv_file("2026.1", [(row, names)]).decode("utf-8-sig"))))
    fields = dict(zip(rows[0], rows[1], strict=True))
    assert not fields["署名企业 / named_manufacturer"].startswith("=")
    assert fields["平均值 kg CO2e/声明单位 / value_kg_co2e"] == "-5.0"
