"""Comparable groups, benchmarks and grades (services.benchmarks) on a database of their own: labels seeded row by
row (a group needs many), every figure computed by hand in the docstring.

Percentiles: linear interpolation between closest ranks (label_service.grading: h = (n - 1) · p / 100).
"""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from footprint_api.core.errors import Forbidden, NotFound, Unprocessable
from footprint_api.infra.security import Principal
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import (
    Application,
    AuditEvent,
    Benchmark,
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
from footprint_api.services import benchmarks
from footprint_api.services.benchmarks import CitedBenchmark, Group
from footprint_api.services.verification import today
from label_service.numbering import label_number
from pcr_rules import default_registry

CEMENT = "PCR-CN-CEMENT"
PO425 = Group(CEMENT, 1, "P·O/42.5", "1 t")
SEQUENCES = itertools.count(500_000)  # label numbers of their own, far from any issued in the same database


# --- a registry seeded row by row ----------------------------------------------------------------------------------


class Seeder:
    """Organisations, a signing key, and labels each on a chain of its own (product, inventory, job, footprint,
    application), as issuance leaves them; the group columns filled as given, or left empty for the backfill."""

    def __init__(self):
        with session_scope() as session:
            suffix = uuid.uuid4().hex[:6]
            self.manufacturer = Organisation(name=f"cement maker {suffix}", kind=OrganisationKind.MANUFACTURER)
            self.body = Organisation(name=f"body {suffix}", kind=OrganisationKind.CERTIFICATION_BODY)
            self.platform = Organisation(name=f"platform {suffix}", kind=OrganisationKind.PLATFORM)
            session.add_all([self.manufacturer, self.body, self.platform])
            session.flush()
            self.kid = uuid.uuid4().hex[:16]
            session.add(SigningKey(kid=self.kid, organisation_id=self.body.id, public_key="x"))
            session.commit()

    def admin(self, role: Role = Role.PLATFORM_ADMIN) -> Principal:
        expires = datetime.now(UTC) + timedelta(hours=1)
        return Principal(uuid.uuid4(), "user", self.platform.id, role, uuid.uuid4().hex, expires)

    def label(
        self,
        session: Session,
        value: str,
        *,
        pcr_version: str = "1.2.0",
        cement: tuple[str, str] = ("P·O", "42.5"),
        period: tuple[str, str] = ("2025-01-01", "2025-12-31"),
        province: str = "浙江省",
        group: Group | None = PO425,
        reference_year: int | None = 2025,
        state: str = "active",
        expires_on: date | None = None,
        product: str | None = None,
    ) -> Label:
        issued = today() - timedelta(days=30)
        sequence = next(SEQUENCES)
        if group is not None and "/" in group.product_class:  # the inventory names the class the columns hold
            cement = tuple(group.product_class.split("/"))
        data = {
            "pcr": {"id": CEMENT, "version": pcr_version},
            "product": {"name": product or f"cement {sequence}"},
            "facility": {"name": "kiln", "province": province},
            "reference_period": {"start": period[0], "end": period[1]},
            "parameters": {"cement_type": {"choice": cement[0]}, "strength_class": {"choice": cement[1]}},
        }
        made = Product(organisation_id=self.manufacturer.id, name=data["product"]["name"], pcr_id=CEMENT)
        session.add(made)
        session.flush()
        record = InventoryRecord(
            organisation_id=self.manufacturer.id,
            product_id=made.id,
            version=1,
            pcr_id=CEMENT,
            pcr_version=pcr_version,
            data=data,
        )
        session.add(record)
        session.flush()
        job = Job(organisation_id=self.manufacturer.id, inventory_id=record.id, status=JobStatus.SUCCEEDED)
        session.add(job)
        session.flush()
        footprint = Footprint(
            organisation_id=self.manufacturer.id,
            inventory_id=record.id,
            job_id=job.id,
            pcr_id=CEMENT,
            pcr_version=pcr_version,
            factor_set="cn-2025.1",
            total_kg_co2e=float(value),
            declared_unit=group.declared_unit if group else "1 t",
            result={},
        )
        session.add(footprint)
        session.flush()
        application = Application(
            organisation_id=self.manufacturer.id,
            certification_body_id=self.body.id,
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
            organisation_id=self.manufacturer.id,
            issuer_id=self.body.id,
            pcr_id=group.pcr_id if group else CEMENT,
            pcr_version=pcr_version,
            product_name=made.name,
            manufacturer_name=self.manufacturer.name,
            value=value,
            total_kg_co2e=float(value),
            declared_unit=group.declared_unit if group else "1 t",
            issued_on=issued,
            expires_on=expires_on or issued + timedelta(days=3 * 365),
            state=state,
            key_id=self.kid,
            token="t",
            qr_content="q",
        )
        if group is not None:
            label.pcr_major, label.product_class = group.pcr_major, group.product_class
            label.reference_year, label.province = reference_year, "Zhejiang"
        session.add(label)
        session.flush()
        return label


@pytest.fixture(scope="module")
def seeder(tmp_path_factory):
    from footprint_api.persistence.migrate import upgrade
    from tests.service import configure

    url = f"sqlite:///{tmp_path_factory.mktemp('benchmarks') / 'pcf.db'}"
    configure(url)
    upgrade(url)
    return Seeder()


def _group(seeder: Seeder, session: Session, product_class: str, values: list[str], **kwargs) -> Group:
    """A group of its own (a product class no other test uses) with labels of these values."""
    group = Group(CEMENT, 1, product_class, "1 t")
    for value in values:
        seeder.label(session, value, group=group, **kwargs)
    session.commit()
    return group


def _cited(of: Group, amount, year=2025, **changes) -> CitedBenchmark:
    given = {
        "group": of.key,
        "year": year,
        "value": amount,
        "citation": "Industry average, test table 1, 2025",
        "citation_zh": "行业平均值，测试表 1，2025 年",
    }
    return CitedBenchmark(**{**given, **changes})


# --- comparable groups -----------------------------------------------------------------------------------------------


def test_a_groups_key_names_it_and_reads_back():
    assert PO425.key == "PCR-CN-CEMENT~1~P·O/42.5~1 t"
    assert Group.from_key(PO425.key) == PO425
    assert PO425.href == "/benchmarks/PCR-CN-CEMENT~1~P%C2%B7O%2F42.5~1%20t"
    for wrong in ("", "PCR-CN-CEMENT", "PCR-CN-CEMENT~x~~1 t", "~1~~1 t", "PCR-CN-CEMENT~123456~~1 t", "A~1~\x00~t"):
        with pytest.raises(NotFound):
            Group.from_key(wrong)


def test_the_pcrs_in_force_define_the_groups_of_their_classification():
    """Cement 1.2.0 classifies by 8 cement types × 8 strength classes (GB 175-2023): 64 combinations of major 1
    (1.0.0 and 1.1.0, without classification, add the one unclassified group)."""
    groups = benchmarks.possible_groups()
    cement = [g for g in groups if g.pcr_id == CEMENT and g.pcr_major == 1 and g.product_class]
    assert len(cement) == 64 and PO425 in cement
    assert Group(CEMENT, 1, "", "1 t") in groups


def test_the_reference_year_is_the_year_holding_most_of_the_period():
    """2023-07-01..2024-06-30: 184 days in 2023 (31+31+30+31+30+31), 182 in 2024 (31+29+31+30+31+30) -> 2023;
    2023-12-31..2024-01-01: one day each, a tie -> the later year."""
    assert benchmarks.reference_year(date(2025, 1, 1), date(2025, 12, 31)) == 2025
    assert benchmarks.reference_year(date(2023, 7, 1), date(2024, 6, 30)) == 2023
    assert benchmarks.reference_year(date(2023, 12, 31), date(2024, 1, 1)) == 2024


def test_labels_issued_before_get_their_group_from_their_inventory_once(seeder):
    """A 1.2.0 label of P·O 52.5 from Zhejiang (written '浙江省') for 2025, and a 1.0.0 label (no classification:
    the whole category, key ''); a second run finds nothing to do; one audit entry per run that filled any."""
    with session_scope() as session:
        classified = seeder.label(session, "810", cement=("P·O", "52.5"), group=None)
        unclassified = seeder.label(
            session, "820", pcr_version="1.0.0", group=None, period=("2023-01-01", "2023-12-31")
        )
        session.commit()
        numbers = {classified.number, unclassified.number}
        assert benchmarks.backfill_all(session) >= 2
        assert benchmarks.backfill(session) == 0
        rows = {
            label.number: (label.pcr_major, label.product_class, label.reference_year, label.province)
            for label in session.exec(select(Label).where(col(Label.number).in_(numbers)))
        }
        entries = session.exec(select(AuditEvent).where(AuditEvent.action == "label.group_filled")).all()
    assert rows == {
        classified.number: (1, "P·O/52.5", 2025, "Zhejiang"),
        unclassified.number: (1, "", 2023, "Zhejiang"),
    }
    assert any(set(e.after["numbers"]) >= numbers for e in entries)


# --- registry benchmarks ---------------------------------------------------------------------------------------------


def test_the_registry_benchmark_is_the_median_of_its_own_groups_valid_labels_of_the_year(seeder):
    """Group P·O 42.5 / 1 t, reference year 2025, valid: 900, 700, 800, 750, 850. Sorted 700, 750, 800, 850, 900:
    median (h = 2) = 800; p20 (h = 0.8) = 700 + 0.8 × 50 = 740; p40 (h = 1.6) = 750 + 0.6 × 50 = 780;
    p80 (h = 3.2) = 850 + 0.2 × 50 = 860; mean = 4,000 / 5 = 800.
    Not counted, each for one reason: a suspended label (600), an expired one (650), one of 2024 (500), and labels
    of another class (P·O 52.5: 100), another declared unit (1 kg: 0.8), another major version (2: 100) and another
    PCR (steel: 1,900) - had any been mixed in, the median or the count would differ."""
    with session_scope() as session:
        for value in ("900", "700", "800", "750", "850"):
            seeder.label(session, value)
        seeder.label(session, "600", state="suspended")
        seeder.label(session, "650", expires_on=today() - timedelta(days=1))
        seeder.label(session, "500", reference_year=2024, period=("2024-01-01", "2024-12-31"))
        seeder.label(session, "100", group=Group(CEMENT, 1, "P·O/52.5", "1 t"))
        seeder.label(session, "0.8", group=Group(CEMENT, 1, "P·O/42.5", "1 kg"))
        seeder.label(session, "100", group=Group(CEMENT, 2, "P·O/42.5", "1 t"))
        seeder.label(session, "1900", group=Group("PCR-CN-STEEL", 1, "P·O/42.5", "1 t"))
        session.commit()
        benchmark = benchmarks.compute_from_registry(session, seeder.admin(), PO425.key, 2025)
        audit = session.exec(select(AuditEvent).where(AuditEvent.object_id == str(benchmark.id))).one()
    assert (benchmark.basis, benchmark.year, benchmark.version, benchmark.label_count) == ("registry", 2025, 1, 5)
    assert benchmark.value == 800
    assert benchmark.percentiles["p20"] == pytest.approx(740)
    assert benchmark.percentiles["p40"] == pytest.approx(780)
    assert benchmark.percentiles["p80"] == pytest.approx(860)
    assert benchmark.percentiles["mean"] == pytest.approx(800)
    assert benchmark.bands == [0.6, 0.8, 1.2, 2.0] and benchmark.effective_from == today()
    assert audit.action == "benchmark.computed" and audit.after["group"] == PO425.key


def test_fewer_than_five_valid_labels_give_no_registry_benchmark_but_a_cited_one_may_be_set(seeder):
    """Four valid labels of 2025 (and a fifth of 2024, another year): too few; nothing is stored."""
    with session_scope() as session:
        group = _group(seeder, session, "P·S·A/32.5", ["700", "720", "740", "760"])
        seeder.label(session, "780", group=group, reference_year=2024)
        session.commit()
        with pytest.raises(Unprocessable) as refused:
            benchmarks.compute_from_registry(session, seeder.admin(), group.key, 2025)
        assert benchmarks.versions(session, group) == []
        cited = benchmarks.set_cited(session, seeder.admin(), _cited(group, 750))
    error = refused.value.errors[0]
    assert (error["field"], error["code"], error["params"]["count"], error["params"]["minimum"]) == (
        "year",
        "benchmarks.registry.too_few",
        4,
        5,
    )
    assert (cited.basis, cited.value, cited.version, cited.citation_zh) == (
        "cited",
        750,
        1,
        "行业平均值，测试表 1，2025 年",
    )


# --- grades ----------------------------------------------------------------------------------------------------------


def test_a_label_keeps_its_grade_at_issue_and_is_graded_now_against_the_version_in_force(seeder):
    """Cited 850 for 2025: a label of 650 -> 650 / 850 = 0.7647 (0.6 < r ≤ 0.8) -> grade 2 at issue.
    Then a registry version of the same group and year: 600, 650, 800, 810, 820 -> median 800 (version 2); now
    650 / 800 = 0.8125 (0.8 < r ≤ 1.2) -> grade 3. The grade at issue stays 2, against version 1."""
    with session_scope() as session:
        group = _group(seeder, session, "P·C/42.5", [])
        benchmarks.set_cited(session, seeder.admin(), _cited(group, 850))
        label = seeder.label(session, "650", group=group)
        benchmarks.record_at_issue(
            session, label, default_registry().get(CEMENT, "1.2.0"), _inventory(session, label), today()
        )
        session.commit()
        assert (label.grade_at_issue, round(label.grade_ratio_at_issue, 4)) == (2, 0.7647)
        for value in ("600", "800", "810", "820"):
            seeder.label(session, value, group=group)
        session.commit()
        registry = benchmarks.compute_from_registry(session, seeder.admin(), group.key, 2025)
        now = benchmarks.grade_now(session, label)
        at_issue = benchmarks.grade_at_issue(session, label)
        first = benchmarks.versions(session, group)[-1]
    assert (registry.version, registry.value) == (2, 800)
    assert (now.grade, round(now.ratio, 4), now.benchmark.id) == (3, 0.8125, registry.id)
    assert (at_issue.grade, at_issue.benchmark.version) == (2, 1)
    assert first.superseded_at is not None


def _inventory(session: Session, label: Label) -> dict:
    footprint = session.get(Footprint, label.footprint_id)
    return session.get(InventoryRecord, footprint.inventory_id).data


def test_a_version_takes_effect_on_its_date_and_not_before(seeder):
    """Version 1 (800) in force from today, version 2 (1,000) from today + 10 days: a label of 900 is graded
    900 / 800 = 1.125 -> 3 today and 900 / 1,000 = 0.9 -> 3 then; one of 500: 0.625 -> 2 today, 0.5 -> 1 then."""
    with session_scope() as session:
        group = _group(seeder, session, "P·P/32.5", ["900", "500"])
        later = today() + timedelta(days=10)
        first = benchmarks.set_cited(session, seeder.admin(), _cited(group, 800))
        second = benchmarks.set_cited(session, seeder.admin(), _cited(group, 1000, effective_from=later))
        labels = benchmarks.group_labels(session, group)
        assert [label.value for label in labels] == ["500", "900"]
        now = benchmarks.grades(session, labels)
        then = benchmarks.grades(session, labels, later)
        assert benchmarks.in_force(session, group, 2025).id == first.id
        assert benchmarks.in_force(session, group, 2025, later).id == second.id
    assert [now[label.id].grade for label in labels] == [2, 3]
    assert [then[label.id].grade for label in labels] == [1, 3]
    assert [round(then[label.id].ratio, 3) for label in labels] == [0.5, 0.9]


def test_a_label_is_graded_against_its_years_benchmark_else_the_latest_earlier_year(seeder):
    """Benchmarks of 2024 (1,000) and 2025 (800): a 2025 label of 880 -> 880 / 800 = 1.1 -> 3; a 2026 label of
    880 (no 2026 benchmark) -> the 2025 one, 1.1 -> 3; a 2023 label (no benchmark of 2023 or before) -> none;
    a 2024 label of 880 -> 880 / 1,000 = 0.88 -> 3 against 2024."""
    with session_scope() as session:
        group = _group(seeder, session, "P·F/42.5", [])
        benchmarks.set_cited(session, seeder.admin(), _cited(group, 1000, year=2024))
        benchmarks.set_cited(session, seeder.admin(), _cited(group, 800, year=2025))
        by_year = {
            year: seeder.label(session, "880", group=group, reference_year=year) for year in (2023, 2024, 2025, 2026)
        }
        session.commit()
        found = {year: benchmarks.grade_now(session, label) for year, label in by_year.items()}
    assert found[2023] is None
    assert {year: (g.benchmark.year, round(g.ratio, 2)) for year, g in found.items() if g} == {
        2024: (2024, 0.88),
        2025: (2025, 1.1),
        2026: (2025, 1.1),
    }


def test_a_group_page_ranks_only_its_own_labels_and_not_below_five(seeder):
    """P·S·B 42.5: 700, 700, 750, 900, 800 -> ranks by value 1, 1, 3, 4, 5 (two equal values share rank 1);
    the same class with four labels of 1 kg is a group of its own, too small to rank."""
    with session_scope() as session:
        group = _group(seeder, session, "P·S·B/42.5", ["700", "700", "750", "900", "800"])
        small = Group(CEMENT, 1, "P·S·B/42.5", "1 kg")
        for value in ("0.7", "0.8", "0.9", "1.0"):
            seeder.label(session, value, group=small)
        session.commit()
        view = benchmarks.group_view(session, group, "zh")
        tiny = benchmarks.group_view(session, small, "en")
    assert [(row["label"].value, row["rank"]) for row in view["labels"]] == [
        ("700", 1),
        ("700", 1),
        ("750", 3),
        ("800", 4),
        ("900", 5),
    ]
    assert view["count"] == 5 and view["rankable"] and view["distribution"].median == 750
    assert tiny["count"] == 4 and not tiny["rankable"] and {row["rank"] for row in tiny["labels"]} == {None}
    assert view["class_name"] == "P·S·B 矿渣硅酸盐水泥 42.5"


# --- what is refused -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"value": "0"}, "value", "benchmarks.value.invalid"),
        ({"value": "abc"}, "value", "benchmarks.value.invalid"),
        ({"citation_zh": "  "}, "citation_zh", "benchmarks.citation.missing"),
        ({"bands": [0.6, 0.5, 1.2, 2.0]}, "bands", "benchmarks.bands.increasing"),
        ({"year": 1990}, "year", "benchmarks.year.invalid"),
        ({"effective_from": "2000-01-01"}, "effective_from", "benchmarks.effective.past"),
        ({"group": "PCR-CN-CEMENT~1~X·Y/1~1 t"}, "group", "benchmarks.group.unknown"),
        ({"group": "not a group"}, "group", "benchmarks.group.unknown"),
    ],
)
def test_a_cited_benchmark_that_cannot_be_recorded_is_refused_naming_the_field(seeder, changes, field, code):
    with session_scope() as session:
        before = len(session.exec(select(Benchmark)).all())
        with pytest.raises(Unprocessable) as refused:
            benchmarks.set_cited(session, seeder.admin(), _cited(PO425, 850, **changes))
        assert len(session.exec(select(Benchmark)).all()) == before
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [(field, code)]


def test_only_the_platform_admin_records_benchmarks(seeder):
    with session_scope() as session, pytest.raises(Forbidden):
        benchmarks.set_cited(session, seeder.admin(Role.CB_ADMIN), _cited(PO425, 850))
