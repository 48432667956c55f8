"""Turns a foreground on a characterised background into the full result: totals by method, per gas, per stage,
contributions, location- and market-based electricity, data quality.

The parts are assembled as plain data and validated once into `FootprintResult` (one pass of pydantic-core is
several times cheaper than building each nested model from Python).
"""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from lca_models.factor_set import FactorChoice, FactorSet
from lca_models.flows import FLOWS
from lca_models.foreground import CAPTIVE, LOCATION, MARKET, Foreground, ForegroundExchange
from lca_models.model import CharacterisedBackground
from lca_models.results import FootprintResult
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR, Stage

TOP_PROCESSES = 10
# PEF data-quality levels by DQR (Commission Recommendation (EU) 2021/2279, Annex I, section 4.6.5)
DQR_LEVELS = ((1.5, "excellent"), (2.0, "very good"), (3.0, "good"), (4.0, "fair"), (float("inf"), "poor"))


@dataclass
class Scored:
    """Characterised scores of each foreground exchange, one row per IPCC method."""

    exchanges: list[ForegroundExchange]
    scores: np.ndarray  # (methods, exchanges)
    methods: np.ndarray  # electricity method of each exchange ("" where it belongs to both)

    def mask(self, electricity_method: str) -> np.ndarray:
        return (self.methods == "") | (self.methods == electricity_method)


def score_exchanges(model: CharacterisedBackground, exchanges: list[ForegroundExchange]) -> Scored:
    """Background inputs take their unit scores (C B A^-1), direct flows their characterisation factors."""
    technosphere = np.array([e.activity is not None for e in exchanges], dtype=bool)
    amounts = np.array([e.amount for e in exchanges])
    scores = np.empty((model.unit_scores.shape[0], len(exchanges)))
    columns = [model.activity_col[e.activity] for e in exchanges if e.activity is not None]
    flows = [model.flow_index[e.flow] for e in exchanges if e.activity is None]
    scores[:, technosphere] = model.unit_scores[:, columns] * amounts[technosphere]
    scores[:, ~technosphere] = model.flow_characterisation[:, flows] * amounts[~technosphere]
    methods = np.array([e.electricity_method or "" for e in exchanges])
    return Scored(exchanges, scores, methods)


def summarise(
    model: CharacterisedBackground,
    foreground: Foreground,
    inventory: Inventory,
    pcr: PCR,
    factor_set: FactorSet,
    engine: dict[str, str],
    total_override: float | None = None,
) -> FootprintResult:
    scored = score_exchanges(model, foreground.exchanges)
    reported = foreground.reported_electricity_method
    head = scored.mask(reported)
    totals = scored.scores[:, head].sum(axis=1)
    location_total = float(scored.scores[0, scored.mask(LOCATION)].sum())
    market_total = float(scored.scores[0, scored.mask(MARKET)].sum())
    total = float(totals[0]) if total_override is None else total_override

    head_exchanges = [e for e, keep in zip(scored.exchanges, head, strict=False) if keep]
    head_scores = scored.scores[0, head]
    contributions, supply, per_gas_mass = _contributions(model, head_exchanges, head_scores, total)
    stages = {stage.value: 0.0 for stage in Stage}
    for exchange, score in zip(head_exchanges, head_scores, strict=False):
        stages[exchange.stage] += float(score)

    per_gas = _per_gas(model, per_gas_mass)
    return FootprintResult.model_validate(
        {
            "product": inventory.product.name
            if not inventory.product.model
            else f"{inventory.product.name} {inventory.product.model}",
            "declared_unit": {
                "amount": pcr.declared_unit.amount,
                "unit": pcr.declared_unit.unit,
                "description": pcr.declared_unit.description,
            },
            "pcr": {"id": pcr.id, "version": pcr.version},
            "factor_set": {"id": factor_set.id, "version": factor_set.version},
            "reference_period": (
                inventory.reference_period.start.isoformat(),
                inventory.reference_period.end.isoformat(),
            ),
            "reference_year": foreground.reference_year,
            "production_declared_units": foreground.production_declared_units,
            "allocation": {"method": foreground.allocation_method, "factor": foreground.allocation_factor},
            "total_kg_co2e": total,
            "fossil_kg_co2e": float(totals[1]),
            "biogenic_kg_co2e": float(totals[2]),
            "land_use_kg_co2e": float(totals[3]),
            "biogenic_co2_emission_kg": per_gas_mass.get("co2_biogenic", 0.0),
            "biogenic_co2_removal_kg": per_gas_mass.get("co2_uptake", 0.0),
            "location_based_kg_co2e": location_total,
            "market_based_kg_co2e": market_total,
            "per_gas": per_gas,
            "stages": stages,
            "contributions": contributions,
            "top_processes": _top_processes(model, supply, head_exchanges, head_scores, total),
            "electricity": _electricity(foreground, scored),
            "direct_emissions_basis": foreground.direct_basis,
            "direct_emissions_by_item": foreground.direct_basis_by_item,
            "data_quality": _data_quality(foreground, contributions, pcr),
            "indicators": foreground.indicators,
            "data_gaps": [gap.text for gap in foreground.data_gaps],
            "data_gaps_explained": foreground.data_gaps,
            "method": {k: list(v) for k, v in factor_set.methods.items()},
            "engine": engine,
        }
    )


def _contributions(
    model: CharacterisedBackground, exchanges, scores, total: float
) -> tuple[list[dict], np.ndarray, dict[str, float]]:
    """Contribution rows (item, part, stage) with the kg of each gas, the supply of every background activity and
    the kg of each flow.

    A row's background inputs carry the gases of their whole supply chain (B A^-1 d of the row's demand d); the
    rows' gases add up to the footprint's per-gas masses, which are taken as that sum."""
    rows: dict[tuple[str, str, str], int] = {}
    co2e: list[float] = []
    direct: list[dict[str, float]] = []
    inputs: list[tuple[int, int, float]] = []  # row, background column, amount per declared unit
    sources: dict[int, str] = {}  # row -> the supplier's value it takes (part `supplier`)
    for exchange, score in zip(exchanges, scores.tolist(), strict=False):
        key = (exchange.item, exchange.part, exchange.stage)
        i = rows.get(key)
        if i is None:
            i = rows[key] = len(co2e)
            co2e.append(0.0)
            direct.append({})
        if exchange.source:
            sources[i] = exchange.source
        co2e[i] += score
        if exchange.activity is not None:
            inputs.append((i, model.activity_col[exchange.activity], exchange.amount))
        else:
            direct[i][exchange.flow] = direct[i].get(exchange.flow, 0.0) + exchange.amount
    demand = np.zeros((model.unit_scores.shape[1], len(co2e)))
    for i, column, amount in inputs:
        demand[column, i] += amount
    chain = (model.unit_gases({column for _, column, _ in inputs}) @ demand).T.tolist()  # rows x flows, kg
    masses: dict[str, float] = defaultdict(float)
    out = []
    for (item, part, stage), i in rows.items():
        gases = direct[i]
        for key, kg in zip(model.biosphere_flow_keys, chain[i], strict=False):
            if kg:
                gases[key] = gases.get(key, 0.0) + kg
        for key, kg in gases.items():
            masses[key] += kg
        row = {
            "item": item,
            "part": part,
            "stage": stage,
            "kg_co2e": co2e[i],
            "share": co2e[i] / total if total else 0.0,
            "gases": {FLOWS[key].label: kg for key, kg in gases.items() if kg != 0.0},
        }
        if i in sources:
            row["source"] = sources[i]
        out.append(row)
    return sorted(out, key=lambda c: -abs(c["kg_co2e"])), model.supply(demand.sum(axis=1)), masses


def _per_gas(model: CharacterisedBackground, masses: dict[str, float]) -> dict[str, dict]:
    cf = model.flow_characterisation[0]
    out: dict[str, dict] = {}
    for key, mass in masses.items():
        if mass == 0.0:
            continue
        gas = out.setdefault(FLOWS[key].label, {"mass_kg": 0.0, "kg_co2e": 0.0})
        gas["mass_kg"] += mass
        gas["kg_co2e"] += mass * float(cf[model.flow_index[key]])
    return dict(sorted(out.items(), key=lambda kv: -abs(kv[1]["kg_co2e"])))


def _top_processes(model, supply, exchanges, scores, total: float) -> list[dict]:
    """Where in the supply chain the emissions happen: each background process's own emissions, plus the
    foreground's direct emissions as one process."""
    per_process = model.direct_scores * supply
    order = np.argsort(-np.abs(per_process))[:TOP_PROCESSES]
    rows = [
        {
            "activity": model.activity_codes[i],
            "name": model.activity_names[i],
            "kg_co2e": float(per_process[i]),
            "share": float(per_process[i]) / total if total else 0.0,
        }
        for i in order
        if per_process[i] != 0.0
    ]
    direct = float(sum(s for e, s in zip(exchanges, scores, strict=False) if e.activity is None))
    if direct:
        rows.append(
            {
                "activity": "foreground",
                "name": "direct emissions at the facility",
                "kg_co2e": direct,
                "share": direct / total if total else 0.0,
            }
        )
    return sorted(rows, key=lambda r: -abs(r["kg_co2e"]))[:TOP_PROCESSES]


def _factor(choice: FactorChoice) -> dict:
    return {
        "activity": choice.activity,
        "year": choice.year,
        "kg_co2e_per_kwh": choice.kg_co2e_per_kwh,
        "source": choice.source,
        "note": choice.note,
        "notes": list(choice.notes),
        "level": choice.level,
        "area": choice.area,
    }


def _electricity(foreground: Foreground, scored: Scored) -> dict:
    account = foreground.electricity

    def score(method: str) -> float:
        return float(scored.scores[0, scored.methods == method].sum())

    captive = float(
        sum(
            score
            for exchange, score in zip(scored.exchanges, scored.scores[0], strict=False)
            if exchange.item == CAPTIVE
        )
    )

    return {
        "consumed_kwh_per_declared_unit": account.consumed_kwh,
        "covered_kwh_per_declared_unit": account.covered_kwh,
        "location_based_kg_co2e": score(LOCATION),
        "market_based_kg_co2e": score(MARKET),
        "reported_method": foreground.reported_electricity_method,
        "location_factor": _factor(account.location_factor),
        "residual_factor": _factor(account.residual_factor),
        "certificates": [
            {
                "serial": c.serial,
                "technology": c.technology,
                "generation_month": c.generation_month,
                "covered_kwh_per_declared_unit": c.covered_kwh_per_declared_unit,
                "factor": _factor(c.factor),
            }
            for c in account.certificates
        ],
        "certificates_applied": account.certificates_applied,
        "location_rule": account.location_rule.text if account.location_rule else "",
        "location_rule_explained": account.location_rule,
        "grid_kwh_per_declared_unit": account.grid_kwh,
        "captive_kwh_per_declared_unit": account.captive_kwh,
        "captive_kg_co2e": captive,
        "captive_kg_co2e_per_kwh": captive / account.captive_kwh if account.captive_kwh else None,
        "note": account.note.text if account.note else "",
        "note_explained": account.note,
    }


def _data_quality(foreground: Foreground, contributions: list[dict], pcr: PCR) -> dict:
    """Each rating and the primary data share as the mean of the items', weighted by their emissions (|kg CO2e|).

    PACT Technical Specifications v3 (Methodology 4.2.2): the primary data share of a product is the share of its
    footprint that comes from primary data; a purchased input taken from its supplier's footprint carries the
    supplier's own primary data share. E.g. 637.5 kg from a supplier at 80 % primary and 100 kg of metered on-site
    electricity (100 %): (637.5 x 0.8 + 100) / 737.5 = 82.7 %."""
    weights: dict[str, float] = defaultdict(float)
    for contribution in contributions:
        weights[contribution["item"]] += abs(contribution["kg_co2e"])
    total = sum(weights.values())
    quality = foreground.quality
    if not total:
        dqr, primary, ratings = 5.0, 0.0, (5.0, 5.0, 5.0)
    else:
        dqr = sum(w * quality[i].dqr for i, w in weights.items()) / total
        primary = sum(w * quality[i].primary for i, w in weights.items()) / total
        ratings = tuple(sum(w * quality[i].representativeness[k] for i, w in weights.items()) / total for k in range(3))
    level = next(name for bound, name in DQR_LEVELS if dqr <= bound)
    return {
        "dqr": round(dqr, 3),
        "level": level,
        "meets_pcr": dqr <= pcr.data_quality.max_dqr,
        "primary_data_share": primary,
        "technological_dqr": round(ratings[0], 3),
        "geographical_dqr": round(ratings[1], 3),
        "temporal_dqr": round(ratings[2], 3),
    }
