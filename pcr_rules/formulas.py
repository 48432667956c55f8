"""The accounting formulas a PCR may name: a catalogue of parameterised building blocks (IPCC 2006 Guidelines and
the GB/T 32150 / 32151 series), each with the parameters it reads, the settings it takes and its citation.

The catalogue is the language's vocabulary: a PCR names a formula, sets its settings (`formula_config`) and lists
the item parameters the inventory gives; `lca_models.process_emissions` implements each formula under the same
name and the PCR check uses the catalogue to refuse an unknown formula, a setting it does not take or a parameter
no formula reads. Pure data: no factor values here (they are in the factor set, each with its source).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

Family = Literal[
    "fuel_combustion",
    "carbonate_decomposition",
    "carbon_mass_balance",
    "fixed_factor",
    "technology_default",
    "direct_emission",
]


# The oxides the oxide back-calculation reads: parameter prefix -> formula (the factor set's `oxides` key).
OXIDES = {"cao": "CaO", "mgo": "MgO", "na2o": "Na2O"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FormulaInput(_Frozen):
    """An item parameter the formula reads (the inventory gives it; else the PCR's default; else `default`)."""

    id: str
    unit: str  # the unit the formula computes in; `{fuel_unit}` stands for the unit of the item's fuel
    description: str
    description_zh: str
    required: bool = False  # the formula cannot run without it: the PCR must list it as required
    default: str | None = None  # where the value comes from when none is given


class FormulaSetting(_Frozen):
    """A key of the item's `formula_config`."""

    id: str
    kind: Literal["constant", "choice", "number", "flow", "text"]
    description: str
    description_zh: str
    required: bool = False
    section: str | None = None  # constant: the factor-set section (process.yaml, or `fuels`) whose keys it names
    choices: tuple[str | float, ...] = ()  # choice: the values it takes
    default: str | float | None = None
    from_parameter: bool = False  # may name a parameter the inventory states: {parameter: <id>}


class FormulaSpec(_Frozen):
    name: str
    family: Family
    title: str
    title_zh: str
    equation: str
    citation: str
    amount: str  # what the item's amount is
    amount_unit: str  # the unit the formula takes the amount in (the item's unit must be this one)
    inputs: tuple[FormulaInput, ...] = ()
    settings: tuple[FormulaSetting, ...] = ()
    # at least one of these inputs must be listed by the item (e.g. one oxide of the product)
    required_any: tuple[str, ...] = ()
    # the flows it returns (elementary flow keys of the factor set)
    returns: tuple[str, ...] = ()

    def input(self, input_id: str) -> FormulaInput | None:
        return next((i for i in self.inputs if i.id == input_id), None)

    def setting(self, setting_id: str) -> FormulaSetting | None:
        return next((s for s in self.settings if s.id == setting_id), None)


def _pot_cell_technology(section: str) -> "FormulaSetting":
    """The setting of the PFC formulas: the pot-cell technology, a row of `section` of the factor set's constants,
    taken from the inventory's parameter where the PCR names one."""
    return FormulaSetting(
        id="technology",
        kind="constant",
        section=section,
        required=True,
        from_parameter=True,
        description="pot-cell technology (CWPB, SWPB, VSS, HSS)",
        description_zh="电解槽型（CWPB、SWPB、VSS、HSS）",
    )


_BIOMASS = FormulaInput(
    id="biomass_fraction",
    unit="dimensionless",
    description="biomass share of the carbon (biogenic CO2 and CH4, reported apart)",
    description_zh="碳中生物质碳的比例（生物源 CO2 与 CH4 单独报告）",
    default="the fuel's biomass_fraction in the factor set (0 for fossil fuels)",
)

FUEL_COMBUSTION = FormulaSpec(
    name="fuel_combustion",
    family="fuel_combustion",
    title="Fuel combustion",
    title_zh="化石燃料燃烧",
    equation="CO2 = AD x NCV x CC x OF x 44/12; CH4, N2O = AD x NCV x EF (kg/TJ)",
    citation="GB/T 32150-2015 (fuel combustion, Annex B Table B.1 defaults); IPCC 2006 Guidelines Vol. 2 Ch. 2 "
    "Tables 2.2/2.3 (CH4, N2O)",
    amount="fuel burned, in the factor set's unit of the fuel",
    amount_unit="{fuel_unit}",
    inputs=(
        FormulaInput(
            id="ncv_gj_per_unit",
            unit="GJ/({fuel_unit})",
            description="net calorific value (measured)",
            description_zh="低位发热量（实测）",
            default="the fuel's ncv_gj_per_unit in the factor set (GB/T 32150-2015 Table B.1)",
        ),
        FormulaInput(
            id="carbon_content_tc_per_tj",
            unit="t/TJ",
            description="carbon content per unit heat (measured)",
            description_zh="单位热值含碳量（实测）",
            default="the fuel's carbon_content_tc_per_tj in the factor set (GB/T 32150-2015 Table B.1)",
        ),
        FormulaInput(
            id="oxidation",
            unit="dimensionless",
            description="carbon oxidation rate (measured)",
            description_zh="碳氧化率（实测）",
            default="the fuel's oxidation in the factor set (GB/T 32150-2015 Table B.1)",
        ),
        _BIOMASS,
    ),
    settings=(
        FormulaSetting(
            id="fuel",
            kind="constant",
            section="fuels",
            required=True,
            description="fuel key of the factor set (a fuel item takes its `fuel`)",
            description_zh="因子集中的燃料代码（燃料类条目取其 fuel 字段）",
        ),
        FormulaSetting(
            id="sector",
            kind="choice",
            choices=("energy", "industry"),
            default="industry",
            description="which CH4/N2O table applies (energy industries or manufacturing)",
            description_zh="CH4/N2O 排放因子表（能源工业或制造业）",
        ),
    ),
    returns=("co2_fossil", "ch4_fossil", "n2o", "co2_biogenic", "ch4_biogenic"),
)

CATALOGUE: tuple[FormulaSpec, ...] = (
    FUEL_COMBUSTION,
    FormulaSpec(
        name="carbonate_decomposition",
        family="carbonate_decomposition",
        title="Carbonate decomposition, from carbonate masses",
        title_zh="碳酸盐分解（按碳酸盐用量）",
        equation="CO2 = M_carbonate x purity x calcination fraction x EF_carbonate (stoichiometric)",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 2 Eq. 2.14 (other process uses of carbonates); GB/T 32151.7 "
        "(flat glass), GB/T 32151.5 (steel fluxes)",
        amount="mass of the carbonate-bearing material",
        amount_unit="t",
        inputs=(
            FormulaInput(
                id="purity",
                unit="dimensionless",
                description="carbonate mass fraction of the material",
                description_zh="原料中碳酸盐的质量分数（纯度）",
                default="1",
            ),
            FormulaInput(
                id="calcination_fraction",
                unit="dimensionless",
                description="fraction of the carbonate decomposed",
                description_zh="碳酸盐分解率",
                default="1 (full decomposition)",
            ),
        ),
        settings=(
            FormulaSetting(
                id="carbonate",
                kind="constant",
                section="carbonates",
                required=True,
                from_parameter=True,
                description="the carbonate (key of the factor set's carbonates, e.g. CaCO3, MnCO3)",
                description_zh="碳酸盐种类（因子集 carbonates 中的代码，如 CaCO3、MnCO3）",
            ),
        ),
        returns=("co2_fossil",),
    ),
    FormulaSpec(
        name="oxide_decomposition",
        family="carbonate_decomposition",
        title="Carbonate decomposition, from the oxide fractions of the product",
        title_zh="碳酸盐分解（按产品中氧化物含量反算）",
        equation="CO2 = M_product x sum over oxides of (oxide fraction - non-carbonate oxide fraction) x M_CO2/M_oxide",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 2 (Eq. 2.2 clinker CaO basis, Eq. 2.9 lime); GB/T 32151.8 "
        "back-calculation from CaO and MgO, generalised to the oxides of the factor set",
        amount="mass of the product whose oxides came from carbonates",
        amount_unit="t",
        inputs=tuple(
            FormulaInput(
                id=f"{oxide}_{part}",
                unit="dimensionless",
                description=f"{name} mass fraction of the product"
                + (" from non-carbonate sources" if part == "noncarbonate_fraction" else ""),
                description_zh=f"产品中{'来自非碳酸盐原料的 ' if part == 'noncarbonate_fraction' else ''}{name} 质量分数",
                default="0",
            )
            for oxide, name in OXIDES.items()
            for part in ("fraction", "noncarbonate_fraction")
        ),
        required_any=tuple(f"{oxide}_fraction" for oxide in OXIDES),
        returns=("co2_fossil",),
    ),
    FormulaSpec(
        name="clinker_calcination",
        family="carbonate_decomposition",
        title="Clinker calcination (GB/T 32151.8)",
        title_zh="熟料煅烧（GB/T 32151.8）",
        equation="CO2 = clinker x [(CaO - non-carbonate CaO) x 44/56 + (MgO - non-carbonate MgO) x 44/40]",
        citation="GB/T 32151.8-2015 (cement enterprises)",
        amount="clinker produced",
        amount_unit="t",
        inputs=(
            FormulaInput(
                id="cao_fraction",
                unit="dimensionless",
                required=True,
                description="CaO mass fraction of clinker",
                description_zh="熟料中 CaO 质量分数",
            ),
            FormulaInput(
                id="mgo_fraction",
                unit="dimensionless",
                required=True,
                description="MgO mass fraction of clinker",
                description_zh="熟料中 MgO 质量分数",
            ),
            FormulaInput(
                id="cao_noncarbonate_fraction",
                unit="dimensionless",
                description="CaO from non-carbonate sources per t clinker",
                description_zh="每吨熟料中来自非碳酸盐原料的 CaO",
                default="0",
            ),
            FormulaInput(
                id="mgo_noncarbonate_fraction",
                unit="dimensionless",
                description="MgO from non-carbonate sources per t clinker",
                description_zh="每吨熟料中来自非碳酸盐原料的 MgO",
                default="0",
            ),
        ),
        returns=("co2_fossil",),
    ),
    FormulaSpec(
        name="carbon_content",
        family="carbon_mass_balance",
        title="Carbon mass balance term: carbon in (reducing agents, electrodes, raw materials) or out (products, "
        "by-products)",
        title_zh="碳质量平衡项：输入碳（还原剂、电极、原料）或输出碳（产品、副产品）",
        equation="CO2 = sign x M x C fraction x 44/12 (sign +1 carbon in, -1 carbon leaving); the balance is the "
        "sum of the PCR's carbon_content items",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 4 Eq. 4.9 (mass balance), Table 4.3 (carbon contents); "
        "GB/T 32151.5 (steel)",
        amount="mass of the material",
        amount_unit="t",
        inputs=(
            FormulaInput(
                id="carbon_fraction",
                unit="dimensionless",
                description="carbon mass fraction of the material (measured)",
                description_zh="物料含碳量（质量分数，实测）",
                default="the material's fraction in the factor set (IPCC 2006 Vol. 3 Table 4.3)",
            ),
            _BIOMASS,
        ),
        settings=(
            FormulaSetting(
                id="material",
                kind="constant",
                section="carbon_content",
                required=True,
                description="material key of the factor set's carbon contents",
                description_zh="因子集 carbon_content 中的物料代码",
            ),
            FormulaSetting(
                id="sign",
                kind="choice",
                choices=(1.0, -1.0),
                default=1.0,
                description="+1 carbon entering the process, -1 carbon leaving in a product or by-product",
                description_zh="+1 为输入碳，-1 为随产品或副产品输出的碳",
            ),
        ),
        returns=("co2_fossil", "co2_biogenic"),
    ),
    FormulaSpec(
        name="anode_co2",
        family="carbon_mass_balance",
        title="Prebake anode consumption CO2",
        title_zh="预焙阳极消耗 CO2",
        equation="CO2 = net anode consumption x (1 - S - Ash) x 44/12",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 4 Eq. 4.21, Table 4.12; GB/T 32151.4 (aluminium)",
        amount="net prebaked anode consumption",
        amount_unit="t",
        inputs=(
            FormulaInput(
                id="sulphur_fraction",
                unit="dimensionless",
                description="sulphur mass fraction of baked anodes",
                description_zh="预焙阳极含硫量",
                default="factor set process.anode.prebake_sulphur_fraction (IPCC 2006 Table 4.12)",
            ),
            FormulaInput(
                id="ash_fraction",
                unit="dimensionless",
                description="ash mass fraction of baked anodes",
                description_zh="预焙阳极灰分",
                default="factor set process.anode.prebake_ash_fraction (IPCC 2006 Table 4.12)",
            ),
        ),
        returns=("co2_fossil",),
    ),
    FormulaSpec(
        name="pfc_slope",
        family="technology_default",
        title="PFC from anode effects, Tier 2 slope method",
        title_zh="阳极效应 PFC（斜率法，Tier 2）",
        equation="CF4 = S x AEM x MP; C2F6 = CF4 x F (S, F of the pot-cell technology)",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 4 Eq. 4.25, Table 4.16",
        amount="anode-effect minutes per cell-day (AEM), period average",
        amount_unit="minute/day",
        settings=(_pot_cell_technology("pfc"),),
        returns=("cf4", "c2f6"),
    ),
    FormulaSpec(
        name="pfc_tier1",
        family="technology_default",
        title="PFC, Tier 1 default per pot-cell technology",
        title_zh="PFC 排放（按电解槽型的 Tier 1 缺省值）",
        equation="CF4 = EF_CF4 x MP; C2F6 = EF_C2F6 x MP (EF of the pot-cell technology)",
        citation="IPCC 2006 Guidelines Vol. 3 Ch. 4 Eq. 4.24, Table 4.15",
        amount="primary aluminium production",
        amount_unit="t",
        settings=(_pot_cell_technology("pfc_tier1"),),
        returns=("cf4", "c2f6"),
    ),
    FormulaSpec(
        name="fixed_factor",
        family="fixed_factor",
        title="Fixed emission factor with its citation",
        title_zh="固定排放因子（注明出处）",
        equation="E = AD x EF",
        citation="GB/T 32150-2015 (activity data x emission factor); the factor's own source in `citation`",
        amount="activity data, in the item's unit",
        amount_unit="{item_unit}",
        settings=(
            FormulaSetting(
                id="flow",
                kind="flow",
                required=True,
                description="elementary flow emitted (e.g. co2_fossil, ch4_fossil, n2o, sf6)",
                description_zh="排放的基本流（如 co2_fossil、ch4_fossil、n2o、sf6）",
            ),
            FormulaSetting(
                id="kg_per_unit",
                kind="number",
                required=True,
                description="kg of the flow per unit of the item",
                description_zh="每单位活动数据排放的千克数",
            ),
            FormulaSetting(
                id="citation",
                kind="text",
                required=True,
                description="source of the factor (document, table, year)",
                description_zh="因子出处（文件、表号、年份）",
            ),
        ),
    ),
    FormulaSpec(
        name="direct_emission",
        family="direct_emission",
        title="Directly reported emission of one gas",
        title_zh="直接报告的单一气体排放",
        equation="E = reported mass (e.g. SF6 by mass balance of refills)",
        citation="GB/T 32151.1 / 32151.2 (SF6 of electrical equipment, mass balance)",
        amount="mass of the gas emitted",
        amount_unit="kg",
        settings=(
            FormulaSetting(
                id="flow",
                kind="flow",
                required=True,
                description="elementary flow emitted",
                description_zh="排放的基本流",
            ),
        ),
    ),
)

FORMULAS: dict[str, FormulaSpec] = {spec.name: spec for spec in CATALOGUE}
# A fuel item burns its fuel: the formula behind ItemKind.FUEL, whose parameters a fuel item may list.
FUEL_FORMULA = FUEL_COMBUSTION.name


def formula_spec(name: str) -> FormulaSpec | None:
    return FORMULAS.get(name)


def catalogue() -> list[dict]:
    """The catalogue as plain data (for the JSON Schema, the service and the authoring guide)."""
    return [spec.model_dump(mode="json") for spec in CATALOGUE]


__all__ = [
    "CATALOGUE",
    "FORMULAS",
    "FUEL_FORMULA",
    "Family",
    "FormulaInput",
    "FormulaSetting",
    "FormulaSpec",
    "catalogue",
    "formula_spec",
]
