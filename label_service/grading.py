"""Grades of a label against its comparable group's benchmark, and the statistics of a group: pure rules, no
database, so that a test (or a buyer with a spreadsheet) can repeat every figure.

**Ratio and grade.** ratio = the label's value / the benchmark's value (both per the same declared unit); the grade
is the first band whose upper bound the ratio does not exceed, on a 1–5 scale (1 best). The default bands are those
of Zhejiang's 碳效码 (carbon-efficiency code), which grades a firm by K = its intensity / the industry's average:
K ≤ 0.6 → grade 1, 0.6 < K ≤ 0.8 → 2, 0.8 < K ≤ 1.2 → 3 (close to the average), 1.2 < K ≤ 2.0 → 4, K > 2.0 → 5
(《规上工业企业碳效等级评价方法》, the Huzhou method Zhejiang adopted province-wide in 2021; formalised in the
provincial standard DB33/T 1347—2023《工业企业碳效综合评估和分级赋码规范》, in force from 2024-01-15). The
platform admin may choose other bands per comparable group: four positive upper bounds, strictly increasing.

**Percentiles.** One definition everywhere: linear interpolation between the closest ranks (Hyndman & Fan 1996,
definition 7; Excel's PERCENTILE.INC, numpy's default). For n sorted values x[0..n-1] and p in [0, 100]:
h = (n - 1) · p / 100, P = x[⌊h⌋] + (h - ⌊h⌋) · (x[⌊h⌋ + 1] - x[⌊h⌋]). The median is P50 (for an even n, the mean of
the two middle values, as `statistics.median`).

**Ranks.** Lowest value first, competition ranking ("1224": equal values share a rank, the next counts them all);
a group of fewer than five labels is too small to rank (`MIN_RANKED`), and `ranks` says so by giving none.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

GRADES = (1, 2, 3, 4, 5)
DEFAULT_BANDS: tuple[float, ...] = (0.6, 0.8, 1.2, 2.0)  # ratio upper bounds of grades 1-4 (碳效码)
BANDS_SOURCE = (
    "Zhejiang 碳效码: K = intensity / industry average; K ≤ 0.6 grade 1, ≤ 0.8 grade 2, ≤ 1.2 grade 3, ≤ 2.0 grade 4, "
    "> 2.0 grade 5 (规上工业企业碳效等级评价方法, Huzhou 2021, adopted province-wide; DB33/T 1347—2023)"
)
BANDS_SOURCE_ZH = (
    "浙江“碳效码”：碳效值 K = 企业碳排放强度 / 行业平均值；K ≤ 0.6 为 1 级，≤ 0.8 为 2 级，≤ 1.2 为 3 级，≤ 2.0 为 4 级，"
    "> 2.0 为 5 级（《规上工业企业碳效等级评价方法》，湖州 2021 年，全省推广；DB33/T 1347—2023）"
)
MIN_RANKED = 5  # fewer labels than this in a group: not ranked, no registry benchmark
PERCENTILES = (10, 20, 25, 40, 50, 60, 75, 80, 90)  # kept with a registry benchmark: "p20" … (GSA: best 20 % / 40 %)
MAX_BAND = 1_000.0  # a band above a thousand times the benchmark is a typing mistake


class BandsInvalid(ValueError):
    """Bands that cannot grade: the message in English, and a code with values for the reader's language."""

    def __init__(self, message: str, code: str, **params):
        super().__init__(message)
        self.code, self.params = code, params


def checked_bands(bands: Sequence[float]) -> tuple[float, ...]:
    """The four upper bounds of grades 1–4, each positive and finite and each greater than the one before."""
    if len(bands) != len(GRADES) - 1:
        raise BandsInvalid(
            f"four upper bounds are needed (grades 1 to 4), not {len(bands)}",
            "benchmarks.bands.count",
            given=len(bands),
        )
    values = []
    for position, bound in enumerate(bands, start=1):
        try:
            number = float(bound)
        except (TypeError, ValueError):
            raise BandsInvalid(f"bound {position} is not a number", "benchmarks.bands.number", grade=position) from None
        if not math.isfinite(number) or number <= 0 or number > MAX_BAND:
            raise BandsInvalid(
                f"bound {position} must be greater than 0 and at most {MAX_BAND:g}",
                "benchmarks.bands.positive",
                grade=position,
                limit=MAX_BAND,
            )
        if values and number <= values[-1]:
            raise BandsInvalid(
                f"bound {position} ({number:g}) must be greater than bound {position - 1} ({values[-1]:g})",
                "benchmarks.bands.increasing",
                grade=position,
                bound=number,
                previous=values[-1],
            )
        values.append(number)
    return tuple(values)


def ratio(value: float, benchmark: float) -> float:
    """The label's value over the benchmark's: 785 / 850 = 0.9235…; a benchmark must be positive."""
    if not benchmark > 0:
        raise ValueError(f"a benchmark must be greater than zero, not {benchmark!r}")
    return value / benchmark


def grade(ratio_value: float, bands: Sequence[float] = DEFAULT_BANDS) -> int:
    """The grade of a ratio: 1 for ratio ≤ bands[0], 2 for ≤ bands[1], 3 for ≤ bands[2], 4 for ≤ bands[3], else 5.
    The unrounded ratio decides (a bound is inclusive: 0.6 is grade 1, 0.6000001 grade 2)."""
    for position, bound in enumerate(bands, start=1):
        if ratio_value <= bound:
            return position
    return len(bands) + 1


@dataclass(frozen=True)
class Grade:
    """A value graded against a benchmark: the ratio, the grade and the bands that gave it."""

    value: float
    benchmark: float
    ratio: float
    grade: int
    bands: tuple[float, ...]


def graded(value: float, benchmark: float, bands: Sequence[float] = DEFAULT_BANDS) -> Grade:
    bands = tuple(bands)
    share = ratio(value, benchmark)
    return Grade(value, benchmark, share, grade(share, bands), bands)


def band_limits(
    benchmark: float, bands: Sequence[float] = DEFAULT_BANDS
) -> list[tuple[int, float | None, float | None]]:
    """(grade, lowest value, highest value) per grade in the benchmark's unit, for people to read the bands as
    values: against 850 with the default bands, grade 1 is up to 510, grade 2 above 510 up to 680, … grade 5
    above 1,700. The lowest of grade 1 and the highest of grade 5 are open (None)."""
    limits: list[tuple[int, float | None, float | None]] = []
    lower: float | None = None
    for position, bound in enumerate(bands, start=1):
        upper = bound * benchmark
        limits.append((position, lower, upper))
        lower = upper
    limits.append((len(bands) + 1, lower, None))
    return limits


# --- the statistics of a group -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 ≤ p ≤ 100) by linear interpolation between closest ranks (definition 7).
    [700, 750, 800, 850, 900] at p = 20: h = 4 × 0.2 = 0.8, 700 + 0.8 × 50 = 740."""
    if not values:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p!r}")
    ordered = sorted(values)
    h = (len(ordered) - 1) * p / 100
    low = math.floor(h)
    if low + 1 >= len(ordered):
        return float(ordered[-1])
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Distribution:
    """What a group's values look like: count, lowest, highest, mean, median and the percentiles kept (`p20` …)."""

    count: int
    minimum: float
    maximum: float
    mean: float
    median: float
    percentiles: dict[str, float] = field(default_factory=dict)


def distribution(values: Sequence[float], points: Sequence[int] = PERCENTILES) -> Distribution:
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return Distribution(
        count=len(ordered),
        minimum=float(ordered[0]),
        maximum=float(ordered[-1]),
        mean=math.fsum(ordered) / len(ordered),
        median=median(ordered),
        percentiles={f"p{point}": percentile(ordered, point) for point in points},
    )


def rankable(count: int) -> bool:
    """Whether a group of `count` labels is ranked at all (at least MIN_RANKED)."""
    return count >= MIN_RANKED


def ranks(values: Sequence[float]) -> list[int | None]:
    """The rank of each value in its group, in the order given (lowest value 1; equal values share a rank and the
    next counts them all: 700, 750, 750, 800 -> 1, 2, 2, 4); all None when the group is too small to rank."""
    if not rankable(len(values)):
        return [None] * len(values)
    ordered = sorted(values)
    first: dict[float, int] = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return [first[value] for value in values]


def within_best(value: float, values: Sequence[float], percent: float) -> bool:
    """Whether a value is among the best (lowest) `percent` % of a group: at or below the group's `percent`-th
    percentile (GSA's "best 20 % / 40 %" of a category). None of it holds for a group too small to rank."""
    if not rankable(len(values)):
        raise ValueError(f"a group of {len(values)} is too small to rank (at least {MIN_RANKED})")
    return value <= percentile(values, percent)
