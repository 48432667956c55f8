"""The rules of grades and group statistics (label_service.grading), each figure computed by hand in its docstring.

Percentiles: linear interpolation between closest ranks (Hyndman & Fan definition 7, Excel PERCENTILE.INC):
h = (n - 1) · p / 100, P = x[⌊h⌋] + (h - ⌊h⌋) · (x[⌊h⌋ + 1] - x[⌊h⌋]).
"""

import pytest

from label_service import grading

GROUP = [900.0, 700.0, 800.0, 750.0, 850.0]  # five values of one group, given out of order


def test_percentiles_interpolate_between_the_closest_ranks():
    """Sorted: 700, 750, 800, 850, 900 (n = 5, n - 1 = 4).
    p20: h = 4 × 0.20 = 0.8 -> 700 + 0.8 × (750 - 700) = 740
    p40: h = 1.6 -> 750 + 0.6 × 50 = 780
    p50: h = 2.0 -> 800 (the median)
    p80: h = 3.2 -> 850 + 0.2 × 50 = 860
    p25: h = 1.0 -> 750;  p0 = 700, p100 = 900."""
    assert grading.percentile(GROUP, 20) == pytest.approx(740)
    assert grading.percentile(GROUP, 40) == pytest.approx(780)
    assert grading.percentile(GROUP, 50) == 800
    assert grading.percentile(GROUP, 80) == pytest.approx(860)
    assert grading.percentile(GROUP, 25) == 750
    assert (grading.percentile(GROUP, 0), grading.percentile(GROUP, 100)) == (700, 900)


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    """10, 20, 30, 40: h = 3 × 0.5 = 1.5 -> 20 + 0.5 × (30 - 20) = 25, as statistics.median gives."""
    assert grading.median([40, 10, 30, 20]) == 25


def test_one_value_is_every_percentile_of_itself():
    assert grading.percentile([785.0], 20) == grading.percentile([785.0], 90) == 785.0


def test_a_percentile_outside_0_to_100_or_of_nothing_is_refused():
    with pytest.raises(ValueError):
        grading.percentile(GROUP, 101)
    with pytest.raises(ValueError):
        grading.percentile([], 50)


def test_the_distribution_keeps_count_extremes_mean_median_and_percentiles():
    """mean = (700 + 750 + 800 + 850 + 900) / 5 = 4000 / 5 = 800; p10: h = 0.4 -> 700 + 0.4 × 50 = 720;
    p90: h = 3.6 -> 850 + 0.6 × 50 = 880."""
    spread = grading.distribution(GROUP)
    assert (spread.count, spread.minimum, spread.maximum, spread.mean, spread.median) == (5, 700, 900, 800, 800)
    assert set(spread.percentiles) == {f"p{p}" for p in grading.PERCENTILES}
    assert spread.percentiles["p10"] == pytest.approx(720)
    assert spread.percentiles["p90"] == pytest.approx(880)


def test_ratio_and_grade_with_the_default_bands():
    """785 kg CO2e/t against a benchmark of 850: ratio = 785 / 850 = 0.92353 (0.8 < 0.92353 ≤ 1.2) -> grade 3;
    400 / 850 = 0.47059 ≤ 0.6 -> grade 1; 1,800 / 850 = 2.1176 > 2.0 -> grade 5."""
    assert grading.ratio(785, 850) == pytest.approx(0.923529, rel=1e-6)
    assert grading.graded(785, 850).grade == 3
    assert grading.graded(400, 850).grade == 1
    assert grading.graded(1800, 850).grade == 5


def test_each_upper_bound_belongs_to_its_band():
    """Against 850 the bounds are 0.6 × 850 = 510, 0.8 × 850 = 680, 1.2 × 850 = 1,020, 2.0 × 850 = 1,700 kg:
    510 / 850 = 0.6 -> grade 1, 510.1 / 850 = 0.60012 -> 2; 680 -> 0.8 -> 2; 1,020 -> 1.2 -> 3; 1,700 -> 2.0 -> 4;
    1,700.5 / 850 = 2.00059 -> 5."""
    cases = {510: 1, 510.1: 2, 680: 2, 680.1: 3, 1020: 3, 1020.1: 4, 1700: 4, 1700.5: 5}
    assert {value: grading.graded(value, 850).grade for value in cases} == cases


def test_bands_chosen_for_a_group_grade_by_their_bounds():
    """Bands 0.9 / 1.0 / 1.1 / 1.5: 0.95 -> grade 2 (0.9 < 0.95 ≤ 1.0), 1.05 -> 3, 1.6 -> 5."""
    bands = grading.checked_bands(["0.9", 1.0, 1.1, 1.5])
    assert [grading.grade(r, bands) for r in (0.9, 0.95, 1.05, 1.6)] == [1, 2, 3, 5]


def test_the_bands_as_values_of_the_declared_unit():
    """Against 850 with the default bands: grade 1 up to 510, 2 above 510 up to 680, 3 up to 1,020, 4 up to
    1,700, 5 above 1,700."""
    limits = grading.band_limits(850)
    assert [grade for grade, _, _ in limits] == [1, 2, 3, 4, 5]
    bounds = [bound for _, low, high in limits for bound in (low, high) if bound is not None]
    assert bounds == pytest.approx([510, 510, 680, 680, 1020, 1020, 1700, 1700])
    assert (limits[0][1], limits[-1][2]) == (None, None)


@pytest.mark.parametrize(
    ("bands", "code", "grade"),
    [
        ([0.6, 0.8, 1.2], "benchmarks.bands.count", None),
        ([0.6, 0.8, 0.8, 2.0], "benchmarks.bands.increasing", 3),
        ([0, 0.8, 1.2, 2.0], "benchmarks.bands.positive", 1),
        ([0.6, 0.8, 1.2, float("inf")], "benchmarks.bands.positive", 4),
        ([0.6, "x", 1.2, 2.0], "benchmarks.bands.number", 2),
    ],
)
def test_bands_that_cannot_grade_are_refused_with_a_code(bands, code, grade):
    with pytest.raises(grading.BandsInvalid) as refused:
        grading.checked_bands(bands)
    assert refused.value.code == code
    assert refused.value.params.get("grade") == grade


def test_a_benchmark_must_be_above_zero():
    with pytest.raises(ValueError):
        grading.ratio(785, 0)


def test_ranks_from_the_lowest_value_share_ties_and_skip_after_them():
    """800, 700, 750, 750, 900 sorted: 700 (1), 750 (2), 750 (2), 800 (4: three values before it), 900 (5);
    given back in the order asked: 4, 1, 2, 2, 5."""
    assert grading.ranks([800, 700, 750, 750, 900]) == [4, 1, 2, 2, 5]


def test_a_group_of_fewer_than_five_is_not_ranked():
    assert grading.ranks([800, 700, 750, 900]) == [None, None, None, None]
    assert not grading.rankable(4) and grading.rankable(5)
    with pytest.raises(ValueError):
        grading.within_best(700, [800, 700, 750, 900], 20)


def test_the_best_twenty_percent_are_those_at_or_below_the_20th_percentile():
    """p20 of 700 … 900 is 740 (above): 740 is within the best 20 %, 741 is not; p40 = 780 takes 750 in."""
    assert grading.within_best(740, GROUP, 20)
    assert not grading.within_best(741, GROUP, 20)
    assert grading.within_best(750, GROUP, 40)
