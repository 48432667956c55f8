"""The elementary flows the service uses, by short key, as (name, categories) of Brightway's biosphere3."""

from typing import NamedTuple


class Flow(NamedTuple):
    name: str
    categories: tuple[str, ...]
    label: str  # how results name the gas


FLOWS: dict[str, Flow] = {
    "co2_fossil": Flow("Carbon dioxide, fossil", ("air",), "CO2 (fossil)"),
    # A factor published only in CO2e enters as fossil CO2 in the low-population-density compartment, which IPCC 2021
    # characterises exactly like fossil CO2 (GWP 1), so such amounts stay distinguishable in the per-gas result.
    "co2e_as_co2_fossil": Flow(
        "Carbon dioxide, fossil", ("air", "low population density, long-term"), "CO2e not resolved by gas"
    ),
    "co2_biogenic": Flow("Carbon dioxide, non-fossil", ("air",), "CO2 (biogenic)"),
    "co2_uptake": Flow("Carbon dioxide, in air", ("natural resource", "in air"), "CO2 uptake (biogenic)"),
    "co2_land_use": Flow("Carbon dioxide, from soil or biomass stock", ("air",), "CO2 (land-use change)"),
    "ch4_fossil": Flow("Methane, fossil", ("air",), "CH4 (fossil)"),
    "ch4_biogenic": Flow("Methane, non-fossil", ("air",), "CH4 (biogenic)"),
    "n2o": Flow("Dinitrogen monoxide", ("air",), "N2O"),
    "cf4": Flow("Methane, tetrafluoro-, R-14", ("air",), "CF4"),
    "c2f6": Flow("Ethane, hexafluoro-, HFC-116", ("air",), "C2F6"),
    "sf6": Flow("Sulfur hexafluoride", ("air",), "SF6"),
}

# Direct emissions that a measurement (CEMS) of a gas replaces
MEASURABLE_GAS_FLOWS: dict[str, tuple[str, ...]] = {
    "co2": ("co2_fossil",),
    "ch4": ("ch4_fossil",),
    "n2o": ("n2o",),
}


def split_biogenic(flows: dict[str, float], biomass_fraction: float) -> dict[str, float]:
    """The biomass share of carbon-bearing flows as their biogenic flows (GB/T 24067-2024 reports biogenic CO2 apart;
    IPCC 2006 Vol. 2 Ch. 2.3.3.4: CO2 from biomass is reported as a memo item, its CH4 and N2O count)."""
    if not biomass_fraction:
        return flows
    out = dict(flows)
    for fossil, biogenic in (("co2_fossil", "co2_biogenic"), ("ch4_fossil", "ch4_biogenic")):
        if fossil in out:
            out[biogenic] = out.get(biogenic, 0.0) + out[fossil] * biomass_fraction
            out[fossil] *= 1.0 - biomass_fraction
    return out
