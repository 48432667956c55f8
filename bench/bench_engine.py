"""Footprint engine: warm latency of the factorised path vs a fresh bw2calc.LCA per footprint; Monte Carlo speed.

Targets (2-core machine): warm footprint median <= 5 ms and >= 20x the naive path; 1,000 MC iterations <= 5 s.
"""

import json
import time
from pathlib import Path

from bench.stats import line, summary, time_calls

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from lca_models import get_engine
    from lca_models.naive import calculate_naive
    from pcr_rules.inventory import Inventory

    started = time.perf_counter()
    engine = get_engine()
    print(f"engine ready (project built or opened, background factorised) in {time.perf_counter() - started:.2f} s")
    inventories = [
        Inventory.model_validate(json.loads(p.read_text()))
        for p in sorted((ROOT / "pcr_rules" / "examples").glob("*.json"))
    ]
    for inventory in inventories:  # warm-up
        engine.calculate(inventory)
        calculate_naive(engine, inventory)

    fast = summary(time_calls(lambda i: engine.calculate(inventories[i % len(inventories)]), 2000))
    naive = summary(time_calls(lambda i: calculate_naive(engine, inventories[i % len(inventories)]), 100))
    print("warm footprint (inventory in, validated, full result out, contributions included), 5 example inventories")
    print(line("  factorised engine", fast))
    print(line("  naive: fresh bw2calc.LCA per footprint", naive))
    print(f"  speed-up (median naive / median factorised): {naive['median_ms'] / fast['median_ms']:.1f}x")

    aluminium = inventories[0]
    started = time.perf_counter()
    result = engine.calculate(aluminium, monte_carlo_iterations=1000, seed=1)
    seconds = time.perf_counter() - started
    u = result.uncertainty
    print(
        f"Monte Carlo, 1,000 iterations ({result.product}): {seconds:.2f} s = {1000 / seconds:,.0f} iterations/s; "
        f"95 % interval {u.p2_5_kg_co2e:,.0f} .. {u.p97_5_kg_co2e:,.0f} kg CO2e/t"
    )


if __name__ == "__main__":
    main()
