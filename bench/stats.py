"""Latency summaries for the benchmarks."""

import statistics
import time
from collections.abc import Callable


def time_calls(function: Callable[[int], object], count: int) -> list[float]:
    """Seconds per call of function(i) for i in range(count)."""
    samples = []
    for i in range(count):
        start = time.perf_counter()
        function(i)
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000,
        "per_s": len(ordered) / sum(ordered),
    }


def line(label: str, stats: dict[str, float]) -> str:
    return f"{label:<44} median {stats['median_ms']:8.3f} ms   p95 {stats['p95_ms']:8.3f} ms   {stats['per_s']:9.1f}/s"
