"""Sector formulas for direct process emissions. Each returns kg of elementary flows for the reference period.

The constants come from the factor set (`process.yaml`, and `fuels.yaml` for fuel combustion), each with its
source; the formulas cite their clause. Each formula is an entry of the PCR language's catalogue
(`pcr_rules.formulas`), which declares the parameters it reads and the settings it takes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lca_models.factor_set import C_TO_CO2, FactorSetError, combustion_exchanges
from lca_models.flows import split_biogenic
from pcr_rules import formulas as catalogue


@dataclass(frozen=True)
class FormulaContext:
    constants: dict[str, Any]  # process.yaml of the factor set
    production_declared_units: float  # output of the period, in declared units
    fuels: dict[str, Any] = field(default_factory=dict)  # fuels.yaml: fuels of the factor set
    non_co2: dict[str, Any] = field(default_factory=dict)  # fuels.yaml: CH4 and N2O per fuel family


Formula = Callable[[float, dict[str, float], dict[str, Any], FormulaContext], dict[str, float]]
FORMULAS: dict[str, Formula] = {}


def formula(name: str):
    """Register the implementation of a catalogue formula (a name the catalogue does not declare is refused, so
    that the PCR check knows every parameter a formula reads)."""
    if name not in catalogue.FORMULAS:
        raise FactorSetError(f"formula {name!r} is not declared in pcr_rules.formulas")

    def register(function: Formula) -> Formula:
        FORMULAS[name] = function
        return function

    return register


def _constant(context: FormulaContext, section: str, key: str) -> dict[str, Any]:
    try:
        return context.constants[section][key]
    except KeyError:
        raise FactorSetError(f"no {section} constant {key!r} in the factor set") from None


@formula("carbonate_decomposition")
def carbonate_decomposition(amount_t, params, config, context):
    """CO2 = carbonate mass x purity x calcination fraction x stoichiometric factor (IPCC 2006 Vol. 3 Eq. 2.14)."""
    factor = _constant(context, "carbonates", config["carbonate"])["t_co2_per_t"]
    purity = params.get("purity", 1.0)
    calcined = params.get("calcination_fraction", 1.0)
    return {"co2_fossil": amount_t * purity * calcined * factor * 1000.0}


@formula("fuel_combustion")
def fuel_combustion(amount, params, config, context):
    """CO2 = AD x NCV x CC x OF x 44/12, CH4 and N2O = AD x NCV x EF (GB/T 32150-2015; IPCC 2006 Vol. 2 Tables 2.2,
    2.3); NCV, carbon content and oxidation default to the fuel's values in the factor set."""
    key = config["fuel"]
    try:
        fuel = context.fuels[key]
    except KeyError:
        raise FactorSetError(f"no fuel {key!r} in the factor set") from None
    per_unit = combustion_exchanges(
        fuel,
        context.non_co2,
        str(config.get("sector", "industry")),
        params.get("ncv_gj_per_unit"),
        params.get("carbon_content_tc_per_tj"),
        params.get("oxidation"),
        params.get("biomass_fraction"),
    )
    return {flow: amount * kg for flow, kg in per_unit.items()}


@formula("oxide_decomposition")
def oxide_decomposition(amount_t, params, config, context):
    """CO2 = product x sum over oxides of (oxide - non-carbonate oxide) x M(CO2)/M(oxide) (IPCC 2006 Vol. 3 Ch. 2,
    the CaO basis of Eq. 2.2 and Eq. 2.9; GB/T 32151.8's back-calculation generalised to the set's oxides)."""
    per_t = 0.0
    for prefix, oxide in catalogue.OXIDES.items():
        fraction = params.get(f"{prefix}_fraction", 0.0) - params.get(f"{prefix}_noncarbonate_fraction", 0.0)
        if fraction:
            per_t += fraction * _constant(context, "oxides", oxide)["t_co2_per_t"]
    return {"co2_fossil": amount_t * per_t * 1000.0}


@formula("fixed_factor")
def fixed_factor(amount, params, config, context):
    """E = activity data x a fixed emission factor the PCR states with its citation (GB/T 32150-2015)."""
    return {str(config["flow"]): amount * float(config["kg_per_unit"])}


@formula("carbon_content")
def carbon_content(amount_t, params, config, context):
    """CO2 = mass x carbon fraction x 44/12; sign -1 for carbon leaving in a product (mass balance, IPCC Eq. 4.9).
    The biomass share of the carbon (e.g. charcoal in a charge carbon) is biogenic CO2, reported apart."""
    fraction = params.get("carbon_fraction", _constant(context, "carbon_content", config["material"])["fraction"])
    co2 = float(config.get("sign", 1)) * amount_t * fraction * C_TO_CO2 * 1000.0
    return split_biogenic({"co2_fossil": co2}, params.get("biomass_fraction", 0.0))


@formula("clinker_calcination")
def clinker_calcination(amount_t, params, config, context):
    """GB/T 32151.8: CO2 = clinker x [(CaO - non-carbonate CaO) x 44/56 + (MgO - non-carbonate MgO) x 44/40]."""
    clinker = context.constants["clinker"]
    cao = params["cao_fraction"] - params.get("cao_noncarbonate_fraction", 0.0)
    mgo = params["mgo_fraction"] - params.get("mgo_noncarbonate_fraction", 0.0)
    per_t = cao * clinker["cao_to_co2"]["ratio"] + mgo * clinker["mgo_to_co2"]["ratio"]
    return {"co2_fossil": amount_t * per_t * 1000.0}


@formula("anode_co2")
def anode_co2(amount_t, params, config, context):
    """Prebake anode CO2 = net anode consumption x (1 - S - Ash) x 44/12 (IPCC 2006 Vol. 3 Eq. 4.21)."""
    anode = context.constants["anode"]
    sulphur = params.get("sulphur_fraction", anode["prebake_sulphur_fraction"]["value"])
    ash = params.get("ash_fraction", anode["prebake_ash_fraction"]["value"])
    return {"co2_fossil": amount_t * (1.0 - sulphur - ash) * C_TO_CO2 * 1000.0}


@formula("pfc_slope")
def pfc_slope(anode_effect_minutes, params, config, context):
    """Tier 2 slope method: CF4 = S x AEM x MP; C2F6 = CF4 x F (IPCC 2006 Vol. 3 Eq. 4.25, Table 4.16)."""
    technology = _constant(context, "pfc", config["technology"])
    cf4_kg = technology["slope"] * anode_effect_minutes * context.production_declared_units
    return {"cf4": cf4_kg, "c2f6": cf4_kg * technology["c2f6_cf4"]}


@formula("pfc_tier1")
def pfc_tier1(production_t, params, config, context):
    """Tier 1 default per cell technology where no anode-effect data exists: CF4 = EF_CF4 x MP, C2F6 = EF_C2F6 x MP
    (IPCC 2006 Vol. 3 Eq. 4.24, Table 4.15); `production_t` is the metal production of the period."""
    technology = _constant(context, "pfc_tier1", config["technology"])
    return {"cf4": technology["cf4_kg_per_t"] * production_t, "c2f6": technology["c2f6_kg_per_t"] * production_t}


@formula("direct_emission")
def direct_emission(amount_kg, params, config, context):
    """A directly reported emission of one gas (e.g. SF6 lost from switchgear, by mass balance of refills)."""
    return {config["flow"]: amount_kg}


def evaluate(
    name: str, amount: float, params: dict[str, float], config: dict[str, Any], context: FormulaContext
) -> dict[str, float]:
    try:
        function = FORMULAS[name]
    except KeyError:
        raise FactorSetError(f"unknown process formula {name!r}") from None
    return function(amount, params, config, context)
