"""Tender evaluation (services.procurement): 1,000 candidates judged against a comparable group of 10,000 labels, in a
scratch SQLite database seeded directly (no certification flow: the labels' rows only, foreign keys off while they are
written). Time (median of RUNS) and peak memory (tracemalloc, in a run of its own: the Python heap allocated during
the step) of:

- assess: resolving the candidates (by number and by GTIN), the group's values (best_percent reads the stated value
  of all 10,000 labels), the grades, the verdicts and ranks: nothing stored;
- sheets: the XLSX and the PDF of the 1,000 rows, both languages;
- evaluate: all of it as a request does it (verdicts and the sheets stored, the audit entry committed).

    python bench/bench_procurement.py

The candidates: 900 labels of the group by number, 50 by GTIN, 30 of another group, 20 numbers nobody issued; 2 %
of the group's labels suspended.
"""

import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GROUP_SIZE = 10_000
CANDIDATES = 1_000
RUNS = 3
SEED = 20_261_208


def _labels(group, other, today: date, rng: random.Random) -> list[dict]:
    from label_service.numbering import label_number

    rows = []
    now = datetime.now(UTC)
    for sequence in range(1, GROUP_SIZE + 60):
        target = group if sequence <= GROUP_SIZE else other
        value = round(rng.lognormvariate(6.65, 0.12), 1)  # around 770 kg CO2e/t, as cement labels spread
        rows.append(
            {
                "id": uuid.uuid4(),
                "number": label_number(2026, sequence),
                "year": 2026,
                "sequence": sequence,
                "application_id": uuid.uuid4(),
                "footprint_id": uuid.uuid4(),
                "organisation_id": uuid.uuid4(),
                "issuer_id": uuid.uuid4(),
                "kind": "footprint",
                "pcr_id": target.pcr_id,
                "pcr_version": "1.2.0",
                "pcr_major": target.pcr_major,
                "product_class": target.product_class,
                "reference_year": 2025,
                "province": "Guizhou",
                "product_name": f"P·O cement {sequence}",
                "manufacturer_name": f"Works {sequence % 400}",
                "gtin": _gtin14(sequence) if sequence % 10 == 0 else None,
                "value": f"{value:.1f}",
                "total_kg_co2e": value,
                "declared_unit": target.declared_unit,
                "issued_on": today - timedelta(days=200),
                "expires_on": today + timedelta(days=900),
                "state": "suspended" if sequence % 50 == 0 else "active",
                "key_id": "bench",
                "token": "bench",
                "qr_content": "bench",
                "files": {},
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _gtin14(sequence: int) -> str:
    """The GTIN-14 of a GTIN-13 of the range 690999…, with its check digit (as labels store it)."""
    from stdnum import ean

    body = f"690999{sequence:06d}"
    return "0" + body + ean.calc_check_digit(body)


def seed(today: date):
    """The scratch database: a buyer, the group's 10,000 labels and 59 of another class, a cited benchmark, one
    evaluation (grade 3 or better) with its 1,000 candidates. Returns (principal, evaluation id)."""
    from sqlalchemy import create_engine

    from footprint_api.infra.security import Principal
    from footprint_api.persistence.db import get_engine, session_scope
    from footprint_api.persistence.models import (
        Benchmark,
        EvaluationCandidate,
        Label,
        OrganisationKind,
        ProcurementEvaluation,
        Role,
    )
    from footprint_api.services import accounts, benchmarks

    group = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/42.5", "1 t")
    other = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/52.5", "1 t")
    rng = random.Random(SEED)
    rows = _labels(group, other, today, rng)
    plain = create_engine(str(get_engine().url))  # SQLite's default: foreign keys not enforced (the service's are)
    with plain.begin() as connection:  # the labels' applications, footprints and keys are not seeded
        connection.execute(Label.__table__.insert(), rows)
    plain.dispose()
    with session_scope() as session:
        organisation = accounts.create_organisation(session, None, "Bench buyer", OrganisationKind.PROCUREMENT)
        user = accounts.create_user(
            session,
            None,
            organisation.id,
            "buyer@bench.example",
            "buyer",
            "bench password 1234",
            Role.PROCUREMENT_OFFICER,
        )
        session.add(
            Benchmark(
                pcr_id=group.pcr_id,
                pcr_major=1,
                product_class=group.product_class,
                declared_unit="1 t",
                year=2025,
                version=1,
                basis="cited",
                value=800.0,
                citation="bench",
                citation_zh="bench",
                bands=[0.6, 0.8, 1.2, 2.0],
                effective_from=today - timedelta(days=30),
            )
        )
        evaluation = ProcurementEvaluation(
            organisation_id=organisation.id,
            title="Bench tender",
            reference="BENCH-1",
            pcr_id=group.pcr_id,
            pcr_major=1,
            product_class=group.product_class,
            declared_unit="1 t",
            rule="max_grade",
            rule_value=3,
            award_date=today + timedelta(days=30),
        )
        session.add(evaluation)
        session.flush()
        in_group = rng.sample(rows[:GROUP_SIZE], 950)
        given = [(row["number"], "label") for row in in_group[:900]]
        with_gtin = [row for row in rows[:GROUP_SIZE] if row["gtin"]]
        given += [(row["gtin"], "gtin") for row in rng.sample(with_gtin, 50)]
        given += [(row["number"], "label") for row in rows[GROUP_SIZE : GROUP_SIZE + 30]]
        given += [(f"PCF-2027-{900_000 + i:06d}-X", "label") for i in range(20)]
        session.add_all(
            EvaluationCandidate(
                evaluation_id=evaluation.id,
                position=position,
                given=text,
                given_kind=kind,
                columns={"包号": f"A{position}", "报价": str(400 + position % 50)},
            )
            for position, (text, kind) in enumerate(given, start=1)
        )
        session.commit()
        principal = Principal(
            user.id, "user", organisation.id, Role.PROCUREMENT_OFFICER, "bench", datetime.now(UTC) + timedelta(hours=1)
        )
        return principal, evaluation.id


def measured(step) -> tuple[float, float]:
    """(median seconds of RUNS untraced runs, peak MiB of one more run under tracemalloc): tracing every allocation
    slows allocation-heavy code (reportlab) many times over, so it never times a run."""
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(seconds), peak / 2**20


def main() -> None:
    from footprint_api.persistence.migrate import upgrade
    from tests.service import configure

    with tempfile.TemporaryDirectory(prefix="pcf-bench-procurement-") as scratch:
        url = f"sqlite:///{scratch}/pcf.db"
        configure(url, PCF_TASK_MODE="in_process")
        upgrade(url)
        from footprint_api.persistence.db import session_scope
        from footprint_api.persistence.models import ProcurementEvaluation
        from footprint_api.services import procurement
        from footprint_api.services.verification import label_day

        today = label_day()
        principal, evaluation_id = seed(today)
        with session_scope() as session:
            evaluation = session.get(ProcurementEvaluation, evaluation_id)
            candidates = procurement.candidates_of(session, evaluation)
            outcome = procurement.assess(session, evaluation, candidates, today)
            counts = procurement._counts(outcome.judged)

            def assess(rule: str, value: float):
                evaluation.rule, evaluation.rule_value = rule, value
                return lambda: procurement.assess(session, evaluation, candidates, today)

            grade_s, grade_mib = measured(assess("max_grade", 3))
            best_s, best_mib = measured(assess("best_percent", 20))
            evaluation.rule, evaluation.rule_value = "max_grade", 3
            result = procurement._result(evaluation, outcome, datetime.now(UTC), 1)
            sheet = procurement.sheet_data(evaluation, candidates, outcome, result)
            session.rollback()

        from footprint_api.exports import evaluation_sheet
        from label_service.render import find_font

        font = find_font()
        xlsx_s, xlsx_mib = measured(lambda: evaluation_sheet.xlsx(sheet))
        pdf_s, pdf_mib = measured(lambda: evaluation_sheet.pdf(sheet, font))

        def evaluate():
            with session_scope() as session:
                procurement.evaluate(session, principal, evaluation_id)

        full_s, full_mib = measured(evaluate)

    print(f"evaluation of {CANDIDATES:,} candidates against a group of {GROUP_SIZE:,} labels (SQLite, {RUNS} runs)")
    print("  verdicts: " + ", ".join(f"{verdict} {count}" for verdict, count in counts.items()))
    print(f"  {'step':<44} {'median s':>9} {'peak MiB':>9}")
    for name, seconds, mib in (
        ("assess, max_grade (grades of 950 labels)", grade_s, grade_mib),
        ("assess, best_percent (P20 of 10,000 values)", best_s, best_mib),
        ("sheet XLSX (1,000 rows, both languages)", xlsx_s, xlsx_mib),
        ("sheet PDF (1,000 rows, both languages)", pdf_s, pdf_mib),
        ("evaluate: all of it, stored and committed", full_s, full_mib),
    ):
        print(f"  {name:<44} {seconds:9.3f} {mib:9.1f}")


if __name__ == "__main__":
    main()
