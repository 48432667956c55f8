"""Turns a foreground on a characterised background into the full result: totals by method, per gas, per stage,
contributions, location- and market-based electricity, data quality.

The parts are assembled as plain data and validated once into `FootprintResult` (one pass of pydantic-core is
several times cheaper than building each nested model from Python).
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from lca_models.factor_set import FactorChoice, FactorSet
from lca_models.flows import FLOWS
from lca_models.foreground import CAPTIVE, LOCATION, MARKET, Foreground, ForegroundExchange
from lca_models.model import CharacterisedBackground
from lca_models.results import FootprintResult
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR, Stage

TOP_PROCESSES = 10
EMPTY: Mapping = MappingProxyType({})
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


def score_exchanges(
    model: CharacterisedBackground, exchanges: list[ForegroundExchange], packs: Mapping[tuple[str, str], object] = EMPTY
) -> Scored:
    """Background inputs take their unit scores (C B A^-1: the factor set's from the factorised model, an imported
    activity's from its prepared pack, `packs` by (name, version)), direct flows their characterisation factors."""
    if not packs:
        return _score_on_factor_set(model, exchanges)
    amounts = np.array([e.amount for e in exchanges])
    scores = np.empty((model.unit_scores.shape[0], len(exchanges)))
    background, columns, direct, flows = [], [], [], []
    imported: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for i, e in enumerate(exchanges):
        if e.database is not None:
            at, cols = imported.setdefault((e.database, e.database_version), ([], []))
            at.append(i)
            cols.append(packs[(e.database, e.database_version)].column(e.activity))
        elif e.activity is not None:
            background.append(i)
            columns.append(model.activity_col[e.activity])
        else:
            direct.append(i)
            flows.append(model.flow_index[e.flow])
    scores[:, background] = model.unit_scores[:, columns] * amounts[background]
    scores[:, direct] = model.flow_characterisation[:, flows] * amounts[direct]
    for key, (at, cols) in imported.items():
        scores[:, at] = packs[key].unit_scores[:, cols] * amounts[at]
    methods = np.array([e.electricity_method or "" for e in exchanges])
    return Scored(exchanges, scores, methods)


def _score_on_factor_set(model: CharacterisedBackground, exchanges: list[ForegroundExchange]) -> Scored:
    """`score_exchanges` of a foreground without imported activities (the common case, kept as lean as it was)."""
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
    scored = score_exchanges(model, foreground.exchanges, foreground.backgrounds)
    reported = foreground.reported_electricity_method
    head = scored.mask(reported)
    totals = scored.scores[:, head].sum(axis=1)
    location_total = float(scored.scores[0, scored.mask(LOCATION)].sum())
    market_total = float(scored.scores[0, scored.mask(MARKET)].sum())
    total = float(totals[0]) if total_override is None else total_override

    head_exchanges = [e for e, keep in zip(scored.exchanges, head, strict=False) if keep]
    head_scores = scored.scores[0, head]
    packs = foreground.backgrounds
    contributions, supply, per_gas_mass, imported_gases = _contributions(
        model, packs, head_exchanges, head_scores, total
    )
    stages = {stage.value: 0.0 for stage in Stage}
    for exchange, score in zip(head_exchanges, head_scores, strict=False):
        stages[exchange.stage] += float(score)

    per_gas = _per_gas(model, per_gas_mass, imported_gases)
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
            "biogenic_co2_emission_kg": _mass(per_gas_mass, imported_gases, "co2_biogenic"),
            "biogenic_co2_removal_kg": _mass(per_gas_mass, imported_gases, "co2_uptake"),
            "location_based_kg_co2e": location_total,
            "market_based_kg_co2e": market_total,
            "per_gas": per_gas,
            "stages": stages,
            "contributions": contributions,
            "top_processes": _top_processes(model, packs, supply, head_exchanges, head_scores, total),
            "electricity": _electricity(foreground, scored),
            "direct_emissions_basis": foreground.direct_basis,
            "direct_emissions_by_item": foreground.direct_basis_by_item,
            "data_quality": _data_quality(foreground, contributions, pcr),
            "indicators": foreground.indicators,
            "data_gaps": [gap.text for gap in foreground.data_gaps],
            "data_gaps_explained": foreground.data_gaps,
            "method": {k: list(v) for k, v in factor_set.methods.items()},
            "engine": engine,
            "backgrounds": [
                {"name": pack.name, "version": pack.version, "digest": pack.digest} for _, pack in sorted(packs.items())
            ],
        }
    )


def _contributions(
    model: CharacterisedBackground, packs: Mapping[tuple[str, str], object], exchanges, scores, total: float
) -> tuple[list[dict], np.ndarray, dict[str, float], dict[str, list[float]]]:
    """Contribution rows (item, part, stage) with the kg of each gas, the supply of every factor-set background
    activity, the kg of each flow (direct and factor-set chains) and, for imported activities, [kg, kg CO2e] of each
    gas group of their packs.

    A row's background inputs carry the gases of their whole supply chain: B A^-1 d of the row's demand d on the
    factor set's background, the pack's gas masses (per unit of the activity, prepared once) times the amount for an
    imported activity, so no activities x flows array is built at request time. The rows' gases add up to the
    footprint's per-gas masses, which are taken as that sum."""
    rows: dict[tuple[str, str, str], int] = {}
    co2e: list[float] = []
    direct: list[dict[str, float]] = []
    inputs: list[tuple[int, int, float]] = []  # row, background column, amount per declared unit
    sources: dict[int, str] = {}  # row -> the supplier's value it takes (part `supplier`)
    databases: dict[int, tuple[str, str]] = {}  # row -> the imported database (name, version) it takes
    imported: dict[str, list[float]] = {}  # gas group -> [kg, kg CO2e] through imported activities
    from_packs: dict[int, dict[str, float]] = {}  # row -> kg of each gas group through imported activities
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
        if exchange.database is not None:
            databases[i] = (exchange.database, exchange.database_version)
            _imported_gases(packs[databases[i]], exchange, from_packs.setdefault(i, {}), imported)
        elif exchange.activity is not None:
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
        if i in from_packs:
            labelled = _with_imported(gases, from_packs[i])
        else:
            labelled = {FLOWS[key].label: kg for key, kg in gases.items() if kg != 0.0}
        row = {
            "item": item,
            "part": part,
            "stage": stage,
            "kg_co2e": co2e[i],
            "share": co2e[i] / total if total else 0.0,
            "gases": labelled,
        }
        if i in sources:
            row["source"] = sources[i]
        if i in databases:
            row["database"], row["version"] = databases[i]
        out.append(row)
    return sorted(out, key=lambda c: -abs(c["kg_co2e"])), model.supply(demand.sum(axis=1)), masses, imported


def _with_imported(gases: dict[str, float], imported: dict[str, float]) -> dict[str, float]:
    """A row's gases by label: its own flows and the gas groups of its imported activities."""
    merged = dict(gases)
    for key, kg in imported.items():
        merged[key] = merged.get(key, 0.0) + kg
    return {gas_label(key): kg for key, kg in merged.items() if kg != 0.0}


def _imported_gases(pack, exchange: ForegroundExchange, gases: dict[str, float], imported: dict[str, list[float]]):
    """The gas groups of an imported activity's whole supply chain times the exchange's amount, into the row's gases
    and the footprint's imported groups ([kg, kg CO2e]; "other" is already kg CO2e)."""
    column = pack.column(exchange.activity)
    masses = (pack.gas_masses[:, column] * exchange.amount).tolist()
    for key, kg, factor in zip(pack.gases, masses, pack.gas_factors.tolist(), strict=True):
        if not kg:
            continue
        gases[key] = gases.get(key, 0.0) + kg
        total = imported.setdefault(key, [0.0, 0.0])
        total[0] += kg
        total[1] += kg * factor


OTHER_GASES = "other"  # the pack's group of every other characterised flow, in kg CO2e (lca_models.backgrounds)
OTHER_GASES_LABEL = "other greenhouse gases (kg CO2e)"


def gas_label(key: str) -> str:
    """How results name a flow or gas group: the flow's label, and the pack's "other" group with its unit."""
    return OTHER_GASES_LABEL if key == OTHER_GASES else FLOWS[key].label


def _mass(masses: dict[str, float], imported: dict[str, list[float]], key: str) -> float:
    return masses.get(key, 0.0) + (imported[key][0] if key in imported else 0.0)


def _per_gas(model: CharacterisedBackground, masses: dict[str, float], imported: dict[str, list[float]]) -> dict:
    """kg and kg CO2e of each gas: direct and factor-set flows by the factor set's characterisation, imported gas
    groups by their packs' factors (the "other" group as its own row, its mass being kg CO2e). The rows add up to
    the total: every characterised flow is in exactly one of them."""
    cf = model.flow_characterisation[0]
    out: dict[str, dict] = {}
    for key, mass in masses.items():
        if mass == 0.0:
            continue
        gas = out.setdefault(FLOWS[key].label, {"mass_kg": 0.0, "kg_co2e": 0.0})
        gas["mass_kg"] += mass
        gas["kg_co2e"] += mass * float(cf[model.flow_index[key]])
    for key, (mass, kg_co2e) in imported.items():
        gas = out.setdefault(gas_label(key), {"mass_kg": 0.0, "kg_co2e": 0.0})
        gas["mass_kg"] += mass
        gas["kg_co2e"] += kg_co2e
    return dict(sorted(out.items(), key=lambda kv: -abs(kv[1]["kg_co2e"])))


def _top_processes(model, packs, supply, exchanges, scores, total: float) -> list[dict]:
    """Where in the supply chain the emissions happen: each factor-set background process's own emissions, the
    foreground's direct emissions as one process, and each activity of an imported database as ONE aggregated row
    (its name, database and version; the score of its whole supply chain). An imported database is prepared as
    unit scores per activity, not factorised at request time, so the processes inside its chain are not split."""
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
    aggregated: dict[tuple[str, str, str], float] = defaultdict(float)
    for exchange, score in zip(exchanges, scores, strict=False) if packs else ():
        if exchange.database is not None:
            aggregated[(exchange.database, exchange.database_version, exchange.activity)] += float(score)
    for (database, version, code), score in aggregated.items():
        if score:
            pack = packs[(database, version)]
            rows.append(
                {
                    "activity": code,
                    "name": pack.activity(pack.column(code)).name,
                    "kg_co2e": score,
                    "share": score / total if total else 0.0,
                    "database": database,
                    "version": version,
                }
            )
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
