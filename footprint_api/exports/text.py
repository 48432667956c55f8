"""Plain-text rendering of a footprint result for people at a terminal."""

import math

from lca_models.results import FootprintResult

GAS_HEADINGS = {"CO2e not resolved by gas": "CO2e not resolved"}


def result_table(result: FootprintResult) -> str:
    unit = f"kg CO2e per {result.declared_unit.amount:g} {result.declared_unit.unit}"
    e = result.electricity
    lines = [
        f"{result.product}",
        f"PCR {result.pcr.id} {result.pcr.version} | factor set {result.factor_set.id} {result.factor_set.version} "
        f"| period {result.reference_period[0]}..{result.reference_period[1]}",
        "",
        f"{'Total (' + e.reported_method.replace('_', '-') + ')':<34}{result.total_kg_co2e:>14,.3f}  {unit}",
        f"{'  fossil':<34}{result.fossil_kg_co2e:>14,.3f}",
        f"{'  biogenic':<34}{result.biogenic_kg_co2e:>14,.3f}",
        f"{'  land use':<34}{result.land_use_kg_co2e:>14,.3f}",
        f"{'Location-based total':<34}{result.location_based_kg_co2e:>14,.3f}",
        f"{'Market-based total':<34}{result.market_based_kg_co2e:>14,.3f}",
        f"{'Electricity consumed (kWh)':<34}{e.consumed_kwh_per_declared_unit:>14,.3f}",
    ]
    if e.captive_kwh_per_declared_unit:
        lines += [
            f"{'  from captive units (kWh)':<34}{e.captive_kwh_per_declared_unit:>14,.3f}  "
            f"at {e.captive_kg_co2e_per_kwh:.4f} kg CO2e/kWh",
            f"{'  from the grid (kWh)':<34}{e.grid_kwh_per_declared_unit:>14,.3f}",
        ]
    lines.append(f"{'  covered by certificates (kWh)':<34}{e.covered_kwh_per_declared_unit:>14,.3f}")
    place = f", {e.location_factor.level} {e.location_factor.area}" if e.location_factor.area else ""
    lines.append(
        f"{'Location factor (kg CO2e/kWh)':<34}{e.location_factor.kg_co2e_per_kwh:>14,.4f}  "
        f"({e.location_factor.year}{place})"
    )
    if result.uncertainty:
        u = result.uncertainty
        lines.append(
            f"{'Monte Carlo 95 % interval':<34}{u.p2_5_kg_co2e:>14,.3f} .. {u.p97_5_kg_co2e:,.3f} "
            f"(n={u.iterations}, seed {u.seed})"
        )
    lines += ["", "Stages"]
    lines += [f"  {stage:<32}{value:>14,.3f}" for stage, value in result.stages.items()]
    lines += ["", f"Contributions (gases: kg per {result.declared_unit.amount:g} {result.declared_unit.unit})"]
    lines += _contribution_rows(result)
    lines += ["", "Per gas"]
    lines += [f"  {gas:<32}{g.kg_co2e:>14,.3f}  ({g.mass_kg:,.6g} kg)" for gas, g in result.per_gas.items()]
    lines += [
        "",
        f"Data quality: DQR {result.data_quality.dqr} ({result.data_quality.level}), "
        f"primary data {result.data_quality.primary_data_share:.0%}",
    ]
    lines += [f"Data gap: {gap}" for gap in result.data_gaps]
    return "\n".join(lines)


def _mass(kg: float | None, digits: int = 6) -> str:
    """Six significant digits in plain decimals: a CF4 mass of a few grams and a CO2 mass of tonnes both stay
    checkable."""
    if not kg:
        return ""
    return f"{kg:,.{max(0, digits - 1 - math.floor(math.log10(abs(kg))))}f}"


def _contribution_rows(result: FootprintResult) -> list[str]:
    """Per item and part: CO2e, share and the mass of each gas that is non-zero in the result, in the order of
    the per-gas table."""
    gases = [gas for gas in result.per_gas if any(c.gases.get(gas) for c in result.contributions)]
    widths = [max(len(GAS_HEADINGS.get(gas, gas)), 14) for gas in gases]
    heading = f"  {'item (part)':<32}{'kg CO2e':>14}  {'share':>7}"
    heading += "".join(f"  {GAS_HEADINGS.get(gas, gas):>{w}}" for gas, w in zip(gases, widths, strict=False))
    rows = [heading]
    for c in result.contributions:
        row = f"  {c.item + ' (' + c.part + ')':<32}{c.kg_co2e:>14,.3f}  {c.share:>7.1%}"
        rows.append(
            (row + "".join(f"  {_mass(c.gases.get(gas)):>{w}}" for gas, w in zip(gases, widths, strict=False))).rstrip()
        )
    return rows
