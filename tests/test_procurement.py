"""Tender evaluations (services.procurement): the rules, verdicts and ranks judged by hand in each docstring, the
buyer's list read with its own columns, and the JSON API (bad input a 4xx naming the field, nothing stored;
another organisation's evaluation not found; the sheet in both languages with the buyer's columns).

Percentiles: linear interpolation between closest ranks (Hyndman & Fan definition 7, Excel PERCENTILE.INC):
h = (n - 1) · p / 100, P = x[⌊h⌋] + (h - ⌊h⌋) · (x[⌊h⌋ + 1] - x[⌊h⌋]). Grades: ratio = value / benchmark, the
碳效码 bands ≤ 0.6 → 1, ≤ 0.8 → 2, ≤ 1.2 → 3, ≤ 2.0 → 4, else 5 (label_service.grading). Ranks: lowest value first,
equal values share a rank ("1224"), fewer than five not ranked.
"""

import csv
import io
import uuid
from datetime import date, timedelta

import pytest

from footprint_api.core.errors import Unprocessable
from footprint_api.persistence.models import Benchmark, Label
from footprint_api.services import benchmarks, notices, procurement
from footprint_api.services.messages import render
from label_service import grading
from label_service.numbering import label_number

TODAY = date(2027, 3, 1)
AWARD = date(2027, 4, 1)
CEMENT = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/42.5", "1 t")
CEMENT_52 = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/52.5", "1 t")
NAMES = {"en": "Cement · P·O 42.5 · 1 t", "zh": "水泥 · P·O 42.5 · 1 t"}


def label(value: str, sequence: int = 1, group: benchmarks.Group = CEMENT, **changes) -> Label:
    """An issued label as the registry holds it (unsaved): what a buyer may read of it."""
    facts = {
        "id": uuid.uuid4(),
        "number": label_number(2026, sequence),
        "year": 2026,
        "sequence": sequence,
        "application_id": uuid.uuid4(),
        "footprint_id": uuid.uuid4(),
        "organisation_id": uuid.uuid4(),
        "issuer_id": uuid.uuid4(),
        "pcr_id": group.pcr_id,
        "pcr_version": f"{group.pcr_major}.2.0",
        "pcr_major": group.pcr_major,
        "product_class": group.product_class,
        "declared_unit": group.declared_unit,
        "reference_year": 2026,
        "product_name": f"Cement {sequence}",
        "manufacturer_name": f"Works {sequence}",
        "value": value,
        "total_kg_co2e": float(value),
        "issued_on": date(2026, 6, 1),
        "expires_on": date(2029, 5, 31),
        "state": "active",
        "key_id": "k",
        "token": "t",
        "qr_content": "q",
        **changes,
    }
    return Label(**facts)


def ctx(rule: str, value: float, group_values=(), min_days: int = 0) -> procurement.Context:
    return procurement.context(
        CEMENT, procurement.Rule(rule, value), AWARD, min_days, TODAY, list(group_values), names=NAMES
    )


def benchmark(value: float, bands=grading.DEFAULT_BANDS) -> Benchmark:
    return Benchmark(
        id=uuid.uuid4(),
        pcr_id=CEMENT.pcr_id,
        pcr_major=1,
        product_class=CEMENT.product_class,
        declared_unit="1 t",
        year=2026,
        version=1,
        basis="cited",
        value=value,
        bands=list(bands),
        effective_from=date(2027, 1, 1),
    )


def grade_of(found: Label, against: Benchmark) -> benchmarks.LabelGrade:
    return benchmarks.graded(found, against)


def codes(judged: procurement.Judged) -> list[str]:
    return [reason["code"].removeprefix("proc.reason.") for reason in judged.reasons]


# --- the rules ------------------------------------------------------------------------------------------------------


def test_a_maximum_value_passes_at_the_limit_and_fails_above_it():
    """Maximum 650 kg CO2e/t. 612: 612 ≤ 650, margin = 650 - 612 = 38, pass. 650: margin 0, pass (the limit is
    inclusive: "at most"). 650.1: margin = 650 - 650.1 = -0.1, fail."""
    rule = ctx(procurement.MAX_VALUE, 650)
    under, at, over = (procurement.judge(label(v), None, rule, None) for v in ("612", "650", "650.1"))
    assert (under.verdict, under.margin, codes(under)) == ("pass", 38, ["max_value_met"])
    assert (at.verdict, at.margin) == ("pass", 0)
    assert over.verdict == "fail" and over.margin == pytest.approx(-0.1) and codes(over) == ["max_value_over"]
    assert render(over.reasons[0], "zh") == "标示值 650.1 超过最大值 650 kg CO2e/1 t。"
    assert render(over.reasons[0], "en") == "Stated value 650.1 exceeds the maximum of 650 kg CO2e per 1 t."


def test_the_value_judged_is_the_one_the_label_states():
    """The label states 612.3 (its signed four significant digits); the footprint behind it was 612.2847. The buyer
    can repeat 650 - 612.3 = 37.7 from the public label alone."""
    judged = procurement.judge(label("612.3", total_kg_co2e=612.2847), None, ctx(procurement.MAX_VALUE, 650), None)
    assert judged.value == 612.3 and judged.margin == pytest.approx(37.7)


def test_best_percent_is_at_or_below_the_groups_percentile():
    """The group's valid labels: 700, 750, 800, 850, 900, 950 (n = 6). Best 20 %: h = (6 - 1) × 0.20 = 1.0 ->
    P20 = x[1] = 750. A candidate at 740: 740 ≤ 750, pass, margin 750 - 740 = 10; at 750: pass, margin 0; at 760:
    fail, margin -10. Best 40 %: h = 5 × 0.4 = 2.0 -> P40 = 800: 760 passes with margin 40."""
    group = [700, 750, 800, 850, 900, 950]
    rule = ctx(procurement.BEST_PERCENT, 20, group)
    assert rule.cutoff == 750
    results = [procurement.judge(label(v), None, rule, None) for v in ("740", "750", "760")]
    assert [(j.verdict, j.margin) for j in results] == [("pass", 10), ("pass", 0), ("fail", -10)]
    assert render(results[2].reasons[0], "en") == (
        "Stated value 760 is above the group's 20th percentile of 750 kg CO2e per 1 t (6 valid labels), "
        "not among the best 20 %."
    )
    wider = procurement.judge(label("760"), None, ctx(procurement.BEST_PERCENT, 40, group), None)
    assert (wider.verdict, wider.margin) == ("pass", 40)


def test_best_percent_of_a_group_too_small_to_rank_fails_and_says_why():
    """Four valid labels in the group, fewer than five (grading.MIN_RANKED): no percentile, so no candidate can be
    shown to be among the best; each comparable one fails with that reason and no margin."""
    rule = ctx(procurement.BEST_PERCENT, 20, [700, 750, 800, 850])
    judged = procurement.judge(label("600"), None, rule, None)
    assert rule.cutoff is None
    assert (judged.verdict, codes(judged), judged.margin) == ("fail", ["group_too_small"], None)
    assert render(judged.reasons[0], "zh") == "可比组只有 4 个有效标签，少于 5 个，不计算百分位数。"


def test_a_maximum_grade_uses_the_grade_the_public_page_shows_and_its_band_as_the_limit():
    """Benchmark 850 kg CO2e/t, default bands. 612: ratio 612 / 850 = 0.72 (0.6 < 0.72 ≤ 0.8) -> grade 2. Maximum
    grade 2: pass; the limit of grade 2 is 0.8 × 850 = 680, margin 680 - 612 = 68. 785: ratio 0.92353 -> grade 3,
    worse than 2: fail, margin 680 - 785 = -105. Maximum grade 5 has no upper limit: no margin."""
    bench = benchmark(850)
    rule = ctx(procurement.MAX_GRADE, 2)
    good, worse = label("612"), label("785", 2)
    passed = procurement.judge(good, None, rule, grade_of(good, bench))
    failed = procurement.judge(worse, None, rule, grade_of(worse, bench))
    assert (passed.verdict, passed.grade, passed.limit, passed.margin) == (
        "pass",
        2,
        pytest.approx(680),
        pytest.approx(68),
    )
    assert passed.ratio == pytest.approx(0.72)
    assert (failed.verdict, failed.grade, failed.margin) == ("fail", 3, pytest.approx(-105))
    assert render(failed.reasons[0], "en") == "Grade 3 (ratio to the benchmark 0.9235) is worse than the grade 2 asked."
    anything = procurement.judge(worse, None, ctx(procurement.MAX_GRADE, 5), grade_of(worse, bench))
    assert (anything.verdict, anything.margin) == ("pass", None)


def test_a_threshold_is_a_fraction_of_the_benchmark_the_candidate_is_graded_against():
    """Benchmark 850, threshold 0.9: 0.9 × 850 = 765 kg CO2e/t. 760: margin 765 - 760 = 5, pass; 770: margin -5,
    fail."""
    bench, rule = benchmark(850), ctx(procurement.THRESHOLD, 0.9)
    under, over = label("760"), label("770", 2)
    judged = [procurement.judge(found, None, rule, grade_of(found, bench)) for found in (under, over)]
    assert [(j.verdict, j.limit, j.margin) for j in judged] == [
        ("pass", pytest.approx(765), pytest.approx(5)),
        ("fail", pytest.approx(765), pytest.approx(-5)),
    ]
    assert render(judged[1].reasons[0], "zh") == "标示值 770 超过阈值 765 kg CO2e/1 t（基准 850 的 0.9 倍）。"


def test_a_grading_rule_without_a_benchmark_for_the_label_fails_with_that_reason():
    judged = procurement.judge(label("612"), None, ctx(procurement.MAX_GRADE, 3), None)
    assert (judged.verdict, codes(judged)) == ("fail", ["no_benchmark"])


# --- validity, comparability --------------------------------------------------------------------------------------


def test_a_suspended_revoked_or_superseded_label_is_invalid_naming_what_happened():
    rule = ctx(procurement.MAX_VALUE, 650)
    suspended = procurement.judge(label("612", state="suspended"), None, rule, None)
    revoked = procurement.judge(label("612", state="revoked"), None, rule, None)
    newer = label_number(2027, 9)
    superseded = procurement.judge(label("612", state="superseded", superseded_by=newer), None, rule, None)
    assert [j.verdict for j in (suspended, revoked, superseded)] == ["invalid"] * 3
    assert codes(suspended)[0] == "suspended" and codes(revoked)[0] == "revoked"
    assert render(superseded.reasons[0], "en").endswith(f"is superseded by {newer}; evaluate the newer label.")
    assert suspended.value == 612  # still shown: it is comparable, only not valid


def test_a_label_expiring_before_the_award_date_fails_with_that_reason():
    """Award on 2027-04-01; the label is valid until 2027-03-20 (valid today, 2027-03-01): it fails, though 612 is
    under the maximum (that reason is listed after the decisive one)."""
    judged = procurement.judge(label("612", expires_on=date(2027, 3, 20)), None, ctx(procurement.MAX_VALUE, 650), None)
    assert (judged.verdict, codes(judged)) == ("fail", ["expires_before_award", "max_value_met"])
    assert render(judged.reasons[0], "zh") == "标签有效期至 2027-03-20，早于授标日期 2027-04-01。"


def test_the_validity_left_at_the_award_date_is_counted_in_days():
    """Award 2027-04-01, 90 days asked. Valid until 2027-06-29: 2027-06-29 - 2027-04-01 = 29 + 31 + 29 = 89 days
    (April 30 days less the first: 29, May 31, June 29), short by one: fail. Until 2027-06-30: 90 days, pass."""
    rule = ctx(procurement.MAX_VALUE, 650, min_days=90)
    short = procurement.judge(label("612", expires_on=date(2027, 6, 29)), None, rule, None)
    enough = procurement.judge(label("612", expires_on=date(2027, 6, 30)), None, rule, None)
    assert (short.verdict, short.reasons[0]["params"]["days_left"]) == ("fail", 89)
    assert enough.verdict == "pass"


def test_a_label_expired_today_is_invalid():
    judged = procurement.judge(label("612", expires_on=date(2027, 2, 28)), None, ctx(procurement.MAX_VALUE, 650), None)
    assert (judged.verdict, codes(judged)[0]) == ("invalid", "expired")


def test_a_label_of_another_group_is_not_comparable_and_both_groups_are_named():
    """P·O 52.5 is not compared with P·O 42.5: no value, grade, margin or rank is given for it."""
    other = label("560", group=CEMENT_52)
    judged = procurement.judge(other, None, ctx(procurement.MAX_VALUE, 650), None)
    assert (judged.verdict, codes(judged), judged.value, judged.margin) == (
        "not_comparable",
        ["other_group"],
        None,
        None,
    )
    english, chinese = render(judged.reasons[0], "en"), render(judged.reasons[0], "zh")
    assert english.startswith("In another comparable group: ") and english.endswith(
        f"this evaluation's group is {NAMES['en']}."
    )
    assert chinese.endswith(f"本次评审的可比组为：{NAMES['zh']}。") and "52.5" in chinese


def test_a_number_nobody_issued_is_unknown():
    judged = procurement.judge(
        None, {"code": "label_unknown", "number": "PCF-2026-000999-X"}, ctx("max_value", 1), None
    )
    assert (judged.verdict, render(judged.reasons[0], "en")) == (
        "unknown",
        "No carbon label is numbered PCF-2026-000999-X.",
    )


# --- ranks --------------------------------------------------------------------------------------------------------


def test_only_comparable_valid_candidates_are_ranked_lowest_first_ties_sharing_a_rank():
    """Candidates: 612, 700, 700, 750, 800, 905 (comparable, valid), a suspended 500 and a 52.5 cement at 450.
    Ranked: 612 -> 1, 700 and 700 -> 2, 750 -> 4, 800 -> 5, 905 -> 6; the suspended and the other group have none
    (a lower value does not take a rank it cannot win)."""
    rule = ctx(procurement.MAX_VALUE, 1000)
    found = [label(v, i) for i, v in enumerate(("612", "700", "700", "750", "800", "905"), start=1)]
    found += [label("500", 7, state="suspended"), label("450", 8, group=CEMENT_52)]
    judged = [procurement.judge(f, None, rule, None) for f in found]
    assert procurement.rank(judged, [f.id for f in found]) is True
    assert [j.rank for j in judged] == [1, 2, 2, 4, 5, 6, None, None]


def test_fewer_than_five_comparable_valid_candidates_are_not_ranked():
    """Four comparable, valid candidates (and one of another group, which does not count): no ranks at all."""
    rule = ctx(procurement.MAX_VALUE, 1000)
    found = [label(v, i) for i, v in enumerate(("612", "700", "750", "800"), start=1)] + [
        label("450", 9, group=CEMENT_52)
    ]
    judged = [procurement.judge(f, None, rule, None) for f in found]
    assert procurement.rank(judged, [f.id for f in found]) is False
    assert [j.rank for j in judged] == [None] * 5


def test_a_label_given_twice_is_ranked_once():
    """By number and by GTIN, the same label: the second is marked as such and left out of the ranks, so five
    distinct labels are ranked 1-5."""
    rule = ctx(procurement.MAX_VALUE, 1000)
    found = [label(v, i) for i, v in enumerate(("612", "700", "750", "800", "850"), start=1)]
    given = [*found, found[0]]
    judged = [procurement.judge(f, None, rule, None) for f in given]
    ids = [f.id for f in given]
    procurement.mark_duplicates(judged, ids, list(range(1, 7)))
    procurement.rank(judged, ids)
    assert [j.rank for j in judged] == [1, 2, 3, 4, 5, None]
    assert codes(judged[5])[-1] == "duplicate" and judged[5].reasons[-1]["params"] == {"position": 1}


# --- what a buyer types and uploads -----------------------------------------------------------------------------------


def test_a_label_number_in_any_spelling_and_a_gtin_of_any_length_are_recognised():
    """6901234567892 (GTIN-13) is stored as its GTIN-14, 06901234567892."""
    number = label_number(2026, 123)
    assert procurement.identify(number.lower().replace("-", "")) == ("label", number)
    assert procurement.identify("690 1234 567892") == ("gtin", "06901234567892")
    with pytest.raises(procurement.NotAnIdentifier) as bad_number:
        procurement.identify(number[:-1] + ("A" if number[-1] != "A" else "B"))
    assert bad_number.value.code == "proc.candidate.number_invalid"
    with pytest.raises(procurement.NotAnIdentifier) as bad_gtin:
        procurement.identify("6901234567891")
    assert bad_gtin.value.code == "proc.candidate.gtin_invalid"


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def test_a_suppliers_list_keeps_the_buyers_own_columns():
    number = label_number(2026, 5)
    rows = [
        ["包号", "供应商", "标签编号", "报价（元/吨）"],
        ["A1", "西南水泥", number, "420"],
        ["A2", "黔北建材", "6901234567892", "398"],
    ]
    read = procurement.read_list(_csv(rows), "list.csv", "text/csv")
    assert read.headings == ["包号", "供应商", "标签编号", "报价（元/吨）"] and read.identifier_column == 2
    assert [(c.given, c.kind) for c in read.candidates] == [(number, "label"), ("06901234567892", "gtin")]
    assert read.candidates[0].columns == {"包号": "A1", "供应商": "西南水泥", "报价（元/吨）": "420"}


def test_a_list_saved_by_chinese_excel_in_gb18030_is_read():
    rows = [["供应商", "条码"], ["西南水泥", "6901234567892"]]
    read = procurement.read_list(_csv(rows, "gb18030"), "list.csv", "text/csv")
    assert read.candidates[0].columns == {"供应商": "西南水泥"}


def test_the_column_of_numbers_is_found_by_its_contents_when_its_heading_says_nothing():
    rows = [["Lot", "Ref"], ["1", label_number(2026, 5)], ["2", label_number(2026, 6)]]
    assert procurement.read_list(_csv(rows), "list.csv", None).identifier_column == 1


def test_an_xlsx_list_is_read_with_its_columns():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Lot", "GTIN", "Price"])
    book.active.append(["A1", 6901234567892, 420])
    out = io.BytesIO()
    book.save(out)
    read = procurement.read_list(out.getvalue(), "list.xlsx", None)
    assert [(c.given, c.columns) for c in read.candidates] == [("06901234567892", {"Lot": "A1", "Price": "420"})]


def test_a_row_that_is_neither_a_number_nor_a_gtin_is_named_and_nothing_is_read():
    rows = [["标签编号", "备注"], [label_number(2026, 5), "ok"], ["PCF-2026-000006-Q", "typo"]]
    with pytest.raises(Unprocessable) as refused:
        procurement.read_list(_csv(rows), "list.csv", None)
    (error,) = refused.value.errors
    assert (error["field"], error["code"], error["params"]["row"]) == ("file", "proc.candidate.number_invalid_row", 3)
    assert render(error, "zh") == "第 3 行的“PCF-2026-000006-Q”不是有效的碳标签编号。"


def test_a_list_without_a_column_of_numbers_is_refused_naming_the_file():
    with pytest.raises(Unprocessable) as refused:
        procurement.read_list(_csv([["Lot", "Price"], ["A1", "420"]]), "list.csv", None)
    assert refused.value.errors[0]["code"] == "proc.upload.no_identifier"


def test_an_old_excel_file_is_refused_for_its_format():
    with pytest.raises(Unprocessable) as refused:
        procurement.read_list(b"\xd0\xcf\x11\xe0", "list.xls", None)
    assert refused.value.errors[0]["code"] == "proc.upload.format"


def test_every_reason_and_verdict_is_worded_in_both_languages():
    from footprint_api.core.messages import catalogue

    reasons = [
        "label_unknown", "gtin_no_label", "suspended", "revoked", "superseded", "expired", "expires_before_award",
        "validity_short", "group_unknown", "other_group", "max_value_met", "max_value_over", "best_percent_met",
        "best_percent_out", "group_too_small", "no_benchmark", "grade_met", "grade_over", "threshold_met",
        "threshold_over", "duplicate",
    ]  # fmt: skip
    for lang in ("zh", "en"):
        t = catalogue(lang)
        assert [r for r in reasons if f"proc.reason.{r}" not in t.messages] == []
        assert [v for v in procurement.VERDICTS if f"proc.verdict.{v}" not in t.messages] == []
        assert [k for k in procurement.NOTICE_KINDS if f"notice.{k}.title" not in t.messages] == []


def test_the_award_date_is_checked_against_today():
    errors: list[dict] = []
    assert procurement._check_award((date.today() - timedelta(days=400)).isoformat(), date.today(), errors) is None
    assert errors[0]["code"] == "proc.award_date.past"


# --- the JSON API, on labels issued through the certification flow -------------------------------------------------

PO_42 = benchmarks.Group("PCR-CN-CEMENT", 1, "P·O/42.5", "1 t")
PRODUCTIONS = (2_000_000, 2_100_000, 2_200_000, 2_300_000, 2_400_000)  # the five P·O 42.5 plants' yearly output, t


@pytest.fixture(scope="module")
def tender(world):
    """Two buyers; five P·O 42.5 cement labels whose values fall as their plants' output rises (the same yearly
    totals over 2.0 to 2.4 Mt: 785 × 2.0 / P, i.e. about 785, 748, 714, 683, 654 kg CO2e/t), the last with a GTIN;
    one P·O 52.5 label (another comparable group); a cited benchmark of 800 kg CO2e/t for P·O 42.5, 2023."""
    from tests.tendering import buyer, cement_label, cite, gtin

    buyer(world, "buyer")
    buyer(world, "other-buyer")
    po42 = [
        cement_label(world, production_t=p, gtin_code=gtin(1) if i == 4 else None) for i, p in enumerate(PRODUCTIONS)
    ]
    po52 = cement_label(world, "52.5")
    cite(world, PO_42, 800)
    return {"po42": po42, "po52": po52, "gtin": gtin(1)}


def create_evaluation(world, user: str = "buyer-officer", **changes):
    body = {
        "title": "Cement for municipal works 2027",
        "reference": "ZB-2027-014",
        "group": PO_42.key,
        "rule": "max_value",
        "rule_value": 750,
        "award_date": (date.today() + timedelta(days=30)).isoformat(),
        "min_validity_days": 0,
        **changes,
    }
    return world.call(user, "POST", "/api/v1/procurement/evaluations", json=body)


def values_of(tender) -> list[float]:
    return [float(label["value"]) for label in tender["po42"]]


def test_a_buyer_evaluates_candidates_by_number_and_gtin(world, tender):
    """Maximum 750 kg CO2e/t. The five P·O 42.5 labels are comparable and valid: each passes where its stated value
    v ≤ 750 (all but the plant of 2.0 Mt at 785), with margin 750 - v; they are ranked by value (five: enough to
    rank), the 2.4 Mt plant (lowest value, given by its GTIN) first. The P·O 52.5 label is not comparable (no
    value, margin or rank) and a number nobody issued is not found."""
    response = create_evaluation(world)
    assert response.status_code == 201, response.text
    evaluation = response.json()
    numbers = [label["number"] for label in tender["po42"][:4]]
    given = [*numbers, tender["gtin"], tender["po52"]["number"], label_number(2026, 999_999)]
    added = world.call(
        "buyer-officer",
        "POST",
        f"/api/v1/procurement/evaluations/{evaluation['id']}/candidates",
        json={"candidates": given},
    )
    assert added.status_code == 201, added.text
    assert [c["given_kind"] for c in added.json()] == ["label"] * 4 + ["gtin", "label", "label"]

    done = world.call("buyer-officer", "POST", f"/api/v1/procurement/evaluations/{evaluation['id']}/evaluate")
    assert done.status_code == 200, done.text
    candidates = done.json()["candidates"]
    values = values_of(tender)
    expected_ranks = [sorted(values).index(v) + 1 for v in values]
    for candidate, value, rank in zip(candidates[:5], values, expected_ranks, strict=True):
        assert candidate["value"] == value
        assert candidate["margin"] == pytest.approx(750 - value)
        assert candidate["verdict"] == ("pass" if value <= 750 else "fail")
        assert candidate["rank"] == rank
    assert candidates[4]["label_number"] == tender["po42"][4]["number"]  # the GTIN's label in force
    other, unknown = candidates[5], candidates[6]
    assert (other["verdict"], other["value"], other["rank"]) == ("not_comparable", None, None)
    assert other["reasons"][0]["code"] == "proc.reason.other_group" and "52.5" in other["reasons"][0]["text"]
    assert unknown["verdict"] == "unknown"
    result = done.json()["result"]
    assert result["counts"] == {"pass": 4, "fail": 1, "not_comparable": 1, "invalid": 0, "unknown": 1}
    assert (result["rankable"], result["ranked"]) == (True, 5)
    assert result["benchmarks"][0]["value"] == 800 and result["benchmarks"][0]["basis"] == "cited"


def _pdf_text(content: bytes) -> str:
    import subprocess

    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def test_a_suppliers_list_round_trips_the_buyers_columns_into_both_sheets(world, tender):
    """The buyer's list: 包号, 供应商, 标签编号, 报价 (yuan per t). The XLSX sheet gives back each row's own cells
    under their own headings, beside the verdict in both languages; the PDF names the benchmark's basis (cited:
    800 kg CO2e/t) and the time of evaluation in Beijing time."""
    from openpyxl import load_workbook

    evaluation = create_evaluation(world).json()
    rows = [["包号", "供应商", "标签编号", "报价（元/吨）"]]
    rows += [[f"A{i}", f"供应商{i}", label["number"], str(400 + i)] for i, label in enumerate(tender["po42"], start=1)]
    upload = world.call(
        "buyer-officer",
        "POST",
        f"/api/v1/procurement/evaluations/{evaluation['id']}/candidates/upload",
        files={"file": ("list.csv", _csv(rows), "text/csv")},
    )
    assert upload.status_code == 201, upload.text
    done = world.call("buyer-officer", "POST", f"/api/v1/procurement/evaluations/{evaluation['id']}/evaluate").json()
    sheet = done["sheets"][0]
    xlsx = world.call("buyer-officer", "GET", sheet["xlsx"])
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    results = list(book["结果 Results"].iter_rows(values_only=True))
    heading = list(results[0])
    assert heading[:7] == [
        "序号 No.",
        "提交内容 Given",
        "类型 Kind",
        "包号",
        "供应商",
        "报价（元/吨）",
        "碳标签编号 Label number",
    ]
    assert "结论（中文） Verdict (Chinese)" in heading and "理由（英文） Reasons (English)" in heading
    first = dict(zip(heading, results[1], strict=True))
    assert (first["包号"], first["供应商"], first["报价（元/吨）"]) == ("A1", "供应商1", "401")
    assert first["结论（中文） Verdict (Chinese)"] == "不通过" and first["结论（英文） Verdict (English)"] == "Fail"
    basis = {row[1]: row[3] for row in book["依据 Basis"].iter_rows(min_row=2, values_only=True)}
    assert basis["Evaluated at (Beijing time)"].endswith("(UTC+8)")
    assert "cited source" in basis["Benchmark"] and "800 kg CO2e per 1 t" in basis["Benchmark"]
    text = _pdf_text(world.call("buyer-officer", "GET", sheet["pdf"]).content)
    assert "招标评审表" in text and "Tender evaluation sheet" in text and "UTC+8" in text
    assert "引用来源" in text and "供应商1" in text


def test_evaluating_again_writes_a_new_sheet_and_keeps_the_earlier_one(world, tender):
    evaluation = create_evaluation(world).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    world.call("buyer-officer", "POST", f"{url}/candidates", json={"candidates": [tender["po42"][1]["number"]]})
    world.call("buyer-officer", "POST", f"{url}/evaluate")
    sheets = world.call("buyer-officer", "POST", f"{url}/evaluate").json()["sheets"]
    assert [s["number"] for s in sheets] == [2, 1]
    for sheet in sheets:
        assert world.call("buyer-officer", "GET", sheet["pdf"]).content.startswith(b"%PDF")


def test_best_percent_is_judged_against_the_whole_registry_group(world, tender):
    """Best 40 % of P·O 42.5: the group's valid labels are the five of this module (their values v1 > … > v5, from
    2.0 to 2.4 Mt). Sorted ascending s0..s4: h = (5 - 1) × 0.40 = 1.6, P40 = s1 + 0.6 × (s2 - s1). The plants of
    2.4 and 2.3 Mt (s0, s1 ≤ P40) pass, the others fail; each margin is P40 - v."""
    evaluation = create_evaluation(world, rule="best_percent", rule_value=40).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    world.call(
        "buyer-officer", "POST", f"{url}/candidates", json={"candidates": [found["number"] for found in tender["po42"]]}
    )
    done = world.call("buyer-officer", "POST", f"{url}/evaluate").json()
    s = sorted(values_of(tender))
    p40 = s[1] + 0.6 * (s[2] - s[1])
    assert done["result"]["cutoff"] == pytest.approx(p40)
    assert [c["verdict"] for c in done["candidates"]] == ["fail", "fail", "fail", "pass", "pass"]
    assert [c["margin"] for c in done["candidates"]] == pytest.approx([p40 - v for v in values_of(tender)])


def test_a_maximum_grade_is_judged_against_the_cited_benchmark(world, tender):
    """Benchmark 800 kg CO2e/t (cited), default bands: grade 2 is a ratio up to 0.8, i.e. up to 640 kg CO2e/t; grade
    3 up to 1.2 × 800 = 960. The five values (about 654 to 785) are ratios 0.82 to 0.98: grade 3 each. Maximum grade
    3: all pass, margin 960 - v; maximum grade 2: all fail, margin 640 - v."""
    for wanted, limit, verdict in ((3, 960, "pass"), (2, 640, "fail")):
        evaluation = create_evaluation(world, rule="max_grade", rule_value=wanted).json()
        url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
        world.call(
            "buyer-officer",
            "POST",
            f"{url}/candidates",
            json={"candidates": [found["number"] for found in tender["po42"]]},
        )
        done = world.call("buyer-officer", "POST", f"{url}/evaluate").json()
        assert [c["grade"] for c in done["candidates"]] == [3] * 5
        assert [c["verdict"] for c in done["candidates"]] == [verdict] * 5
        assert [c["margin"] for c in done["candidates"]] == pytest.approx([limit - v for v in values_of(tender)])


def _count_evaluations() -> int:
    from sqlmodel import func, select

    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import ProcurementEvaluation

    with session_scope() as session:
        return session.exec(select(func.count()).select_from(ProcurementEvaluation)).one()


def test_bad_input_is_refused_naming_each_field_and_nothing_is_stored(world, tender):
    before = _count_evaluations()
    response = create_evaluation(
        world,
        title="  ",
        group="PCR-CN-CEMENT~1~P·O/99.5~1 t",
        rule="best_percent",
        rule_value=120,
        award_date=(date.today() - timedelta(days=1)).isoformat(),
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert fields == {
        "title": "proc.field.missing",
        "group": "proc.group.unknown",
        "rule_value": "proc.rule_value.best_percent",
        "award_date": "proc.award_date.past",
    }
    no_benchmark = create_evaluation(world, group=tender_group_key(tender["po52"]), rule="max_grade", rule_value=3)
    assert no_benchmark.status_code == 422
    assert no_benchmark.json()["errors"] == [
        {
            "field": "rule",
            "reason": "the group has no benchmark to grade against",
            "code": "proc.rule.no_benchmark",
            "params": {"rule": "max_grade"},
        }
    ]
    assert _count_evaluations() == before


def tender_group_key(label: dict) -> str:
    from tests.tendering import labelled

    return benchmarks.group_of(labelled(label["number"])).key


def test_a_typed_candidate_that_is_neither_a_number_nor_a_gtin_is_named(world, tender):
    evaluation = create_evaluation(world).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    response = world.call(
        "buyer-officer",
        "POST",
        f"{url}/candidates",
        json={"candidates": [tender["po42"][0]["number"], "PCF-2026-1", "123"]},
    )
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("candidates[1]", "proc.candidate.number_invalid"),
        ("candidates[2]", "proc.candidate.gtin_invalid"),
    ]
    assert world.call("buyer-officer", "GET", url).json()["candidates"] == []


def test_only_a_candidate_that_passed_is_awarded_and_then_the_candidates_are_fixed(world, tender):
    evaluation = create_evaluation(world).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    world.call(
        "buyer-officer",
        "POST",
        f"{url}/candidates",
        json={"candidates": [tender["po42"][0]["number"], tender["po42"][4]["number"]]},
    )
    failed, passed = world.call("buyer-officer", "POST", f"{url}/evaluate").json()["candidates"]
    assert (failed["verdict"], passed["verdict"]) == ("fail", "pass")
    refused = world.call("buyer-officer", "POST", f"{url}/award", json={"candidate_ids": [failed["id"]]})
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("candidate_ids[0]", "proc.award.not_passed")
    ]
    awarded = world.call("buyer-officer", "POST", f"{url}/award", json={"candidate_ids": [passed["id"]]})
    assert awarded.status_code == 200 and awarded.json()["state"] == "awarded"
    assert awarded.json()["candidates"][1]["awarded_at"] is not None
    more = world.call("buyer-officer", "POST", f"{url}/candidates", json={"candidates": [tender["po42"][1]["number"]]})
    assert more.status_code == 409
    watched = world.call("buyer-admin", "GET", "/api/v1/procurement/watched").json()
    assert tender["po42"][4]["number"] in [w["number"] for w in watched]


def test_another_organisation_sees_none_of_a_buyers_evaluations(world, tender):
    evaluation = create_evaluation(world).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    for intruder, status in (("other-buyer-officer", 404), ("acme-engineer", 403), ("cb-verifier", 403)):
        assert world.call(intruder, "GET", url).status_code == status
        assert world.call(intruder, "POST", f"{url}/evaluate").status_code == status
        assert (
            world.call(intruder, "POST", f"{url}/candidates", json={"candidates": ["6901234567892"]}).status_code
            == status
        )
    assert evaluation["id"] not in world.call("other-buyer-officer", "GET", "/api/v1/procurement/evaluations").text


def test_whatever_a_buyer_sends_the_procurement_api_never_answers_a_server_error(world, tender):
    """Schemathesis generates requests from the OpenAPI document of the procurement routes, sent with a buyer's
    token (the suite-wide fuzz test sends a manufacturer's and the admin's, which these routes refuse at once)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/api/v1/procurement")]
    assert len(operations) == 11
    headers = world.as_("buyer-officer")
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

        no_server_error()


# --- the watch of awarded labels (services.notices asks services.procurement who the buyers are) ---------------------


def _awarded(world, number: str) -> str:
    """An evaluation of `buyer` that awards the label (maximum 1,000 kg CO2e/t: it passes); returns its id."""
    evaluation = create_evaluation(world, rule_value=1000).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    world.call("buyer-officer", "POST", f"{url}/candidates", json={"candidates": [number]})
    (candidate,) = world.call("buyer-officer", "POST", f"{url}/evaluate").json()["candidates"]
    assert candidate["verdict"] == "pass", candidate
    assert (
        world.call("buyer-officer", "POST", f"{url}/award", json={"candidate_ids": [candidate["id"]]}).status_code
        == 200
    )
    return evaluation["id"]


def _notices(world, user: str, number: str) -> list[dict]:
    items = world.call(user, "GET", "/api/v1/notices", params={"page_size": 100}).json()["items"]
    return [n for n in items if n["kind"].startswith("procurement.") and n["params"].get("number") == number]


def test_an_awarded_label_revoked_is_told_to_the_people_of_the_buyer_that_awarded_it_only(world, tender):
    from tests.tendering import cement_label

    label = cement_label(world, production_t=2_050_000)
    evaluation_id = _awarded(world, label["number"])
    revoked = world.call(
        "cb-verifier", "POST", f"/api/v1/labels/{label['number']}/actions/revoke", json={"comment": "数据造假"}
    )
    assert revoked.status_code == 200, revoked.text
    for person in ("buyer-officer", "buyer-admin"):
        (notice,) = _notices(world, person, label["number"])
        assert notice["kind"] == "procurement.label_revoked" and notice["link"] == f"/app/procurement/{evaluation_id}"
        assert notice["title"] == f"Awarded label {label['number']} revoked"
    assert _notices(world, "other-buyer-officer", label["number"]) == []


def test_an_awarded_label_superseded_names_the_newer_label(world, tender):
    from tests.tendering import cement_label, labelled

    label = cement_label(world, production_t=2_060_000)
    _awarded(world, label["number"])
    newer = cement_label(world, production_t=2_070_000, product_id=str(labelled(label["number"]).product_id))
    (notice,) = _notices(world, "buyer-officer", label["number"])
    assert notice["kind"] == "procurement.label_superseded" and notice["params"]["by"] == newer["number"]


def test_an_awarded_label_expiring_within_60_days_is_told_once(world, tender):
    """The housekeeping run of a day 59 days before the label's expiry (within 60) tells the buyer; a second run
    tells nobody again."""
    from footprint_api.persistence.db import session_scope
    from tests.tendering import cement_label, labelled

    label = cement_label(world, production_t=2_080_000)
    _awarded(world, label["number"])
    day = labelled(label["number"]).expires_on - timedelta(days=59)
    for _ in range(2):
        with session_scope() as session:
            notices.warn_expiring(session, day)
    (notice,) = _notices(world, "buyer-admin", label["number"])
    assert (
        notice["kind"] == "procurement.label_expiring"
        and notice["params"]["expires_on"] == labelled(label["number"]).expires_on.isoformat()
    )


def test_a_procurement_organisations_admin_manages_its_own_people_and_no_one_elses(world):
    """A buyer's administrator adds an officer to its own organisation (as a manufacturer's or a body's admin does),
    reaches the administration pages without the label signing keys, and sees nothing of another organisation."""
    from tests.tendering import buyer
    from tests.web_client import Browser

    people = buyer(world, "admin-buyer")
    own = world.organisations["admin-buyer"]
    added = world.call(
        people["admin"],
        "POST",
        f"/api/v1/organisations/{own}/users",
        json={
            "email": f"officer-{uuid.uuid4().hex[:6]}@test.example",
            "name": "A new officer",
            "password": "a long enough password",
            "role": "procurement_officer",
        },
    )
    assert added.status_code == 201, added.text
    assert world.call(people["officer"], "GET", f"/api/v1/organisations/{own}/users").status_code == 403
    acme = world.organisations["acme"]
    assert world.call(people["admin"], "GET", f"/api/v1/organisations/{acme}/users").status_code == 404
    browser = Browser(world.client.app, people["admin"])
    page = browser.get("/app/admin")
    assert page.status_code == 200 and "/app/admin/keys" not in page.text
    assert browser.get("/app/admin/keys").status_code == 403


def test_an_object_store_that_fails_records_no_evaluation_and_answers_503(world, tender, monkeypatch):
    """The sheet's files go to the object store before the verdicts are recorded: a store that fails after the
    XLSX answers 503 (naming that nothing was recorded), the evaluation stays as it was (no verdicts, no sheet);
    the store back, the same evaluation succeeds with sheet 1."""
    from footprint_api.services import procurement
    from label_service.storage import StorageError

    real = procurement.object_store()

    class Failing:
        calls = 0

        def put(self, *args, **kwargs):
            Failing.calls += 1
            if Failing.calls > 1:
                raise StorageError("object store unavailable")
            return real.put(*args, **kwargs)

    evaluation = create_evaluation(world).json()
    url = f"/api/v1/procurement/evaluations/{evaluation['id']}"
    world.call("buyer-officer", "POST", f"{url}/candidates", json={"candidates": [tender["po42"][0]["number"]]})
    monkeypatch.setattr(procurement, "object_store", Failing)
    failed = world.call("buyer-officer", "POST", f"{url}/evaluate")
    assert failed.status_code == 503 and "nothing was recorded" in failed.json()["detail"], failed.text
    assert failed.headers["retry-after"] == "30"
    after = world.call("buyer-officer", "GET", url).json()
    assert after["state"] == "draft" and after["sheets"] == [] and after["candidates"][0]["verdict"] is None, after
    monkeypatch.undo()
    done = world.call("buyer-officer", "POST", f"{url}/evaluate")
    assert done.status_code == 200 and [s["number"] for s in done.json()["sheets"]] == [1], done.text
