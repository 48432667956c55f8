"""The factor data files themselves: every number cited and marked, the provinces and their grids, and spot values
read by hand from the named tables. The YAML is read directly, so these hold whatever code reads it."""

from pathlib import Path

import pytest
import yaml

FACTOR_SET = Path(__file__).resolve().parents[1] / "lca_models" / "data" / "factor_sets" / "cn-2025.1"
DATA_FILES = ("electricity.yaml", "fuels.yaml", "process.yaml", "transport.yaml")
CHECK_MARKS = {"verified", "transcribed", "screening"}
GRID_REGIONS = {"North", "Northeast", "East", "Central", "Northwest", "South", "Southwest"}


def load(name: str) -> dict:
    return yaml.safe_load((FACTOR_SET / name).read_text(encoding="utf-8"))


def factor_rows(node, path="", source=None, check=None):
    """Every mapping that carries a source or a check mark, with the source keys and check it has or inherits from
    the row it belongs to (an exchange inherits from its activity)."""
    if isinstance(node, dict):
        keys = [node[k] for k in ("source", "source_energy", "source_industry") if k in node]
        source = keys or source
        check = node.get("check", check)
        if keys or "check" in node:
            yield path, source, check
        for key, value in node.items():
            if key != "sources":
                yield from factor_rows(value, f"{path}.{key}", source, check)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from factor_rows(value, f"{path}[{i}]", source, check)


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_factor_row_names_a_source_of_its_file_and_a_check_mark(name):
    data = load(name)
    rows = list(factor_rows(data))
    assert rows
    for path, source_keys, check in rows:
        assert source_keys, f"{name}{path} has no source"
        for key in source_keys:
            assert key in data["sources"], f"{name}{path}: source {key!r} is not among the file's sources"
        assert check in CHECK_MARKS, f"{name}{path}: check {check!r}"


def test_provinces_cover_the_31_mainland_divisions_each_in_one_grid_region():
    provinces = load("electricity.yaml")["provinces"]
    assert len(provinces) == 31
    assert len({spec["zh"] for spec in provinces.values()}) == 31
    assert {spec["region"] for spec in provinces.values()} == GRID_REGIONS
    assert provinces["Guizhou"] == {"zh": "贵州", "region": "South"}
    assert provinces["Inner Mongolia"]["region"] == "North"
    assert provinces["Tibet"]["region"] == "Southwest"


def test_every_province_row_is_a_known_province_whose_grid_region_has_a_factor_that_year():
    data = load("electricity.yaml")
    regions_by_year = {}
    for row in data["grid_co2"]:
        if row["scope"] == "region":
            regions_by_year.setdefault(row["year"], set()).add(row["area"])
    province_rows = [row for row in data["grid_co2"] if row["scope"] == "province"]
    assert province_rows
    for row in province_rows:
        assert row["area"] in data["provinces"], row
        assert data["provinces"][row["area"]]["region"] in regions_by_year.get(row["year"], set()), row


def test_no_factor_row_is_given_twice():
    data = load("electricity.yaml")
    keys = [(r["scope"], r.get("area", ""), r["year"]) for r in data["grid_co2"]]
    assert len(keys) == len(set(keys))
    technologies = [r["technology"] for r in data["technology_lifecycle"]]
    assert len(technologies) == len(set(technologies))


@pytest.mark.parametrize("year", [2021, 2022])
def test_each_regional_factor_lies_within_its_provinces_factors(year):
    """A regional factor is an average over its provinces' grids (with trade between them), so it lies between the
    lowest and highest of its members; this checks the grouping of provinces into regions against the numbers,
    e.g. South 2022: 0.3869 between Yunnan 0.1073 and Guizhou 0.4989."""
    data = load("electricity.yaml")
    rows = [r for r in data["grid_co2"] if r["year"] == year]
    provincial = {r["area"]: r["kg_co2_per_kwh"] for r in rows if r["scope"] == "province"}
    for region in (r for r in rows if r["scope"] == "region"):
        members = [v for area, v in provincial.items() if data["provinces"][area]["region"] == region["area"]]
        assert members, region
        assert min(members) <= region["kg_co2_per_kwh"] <= max(members), region


def grid(scope, year, area=None):
    rows = [
        r
        for r in load("electricity.yaml")["grid_co2"]
        if r["scope"] == scope and r["year"] == year and r.get("area") == area
    ]
    assert len(rows) == 1
    return rows[0]


def test_published_electricity_factors_read_by_hand():
    """MEE/NBS announcements (reposts named in electricity.yaml): national average 2021 0.5568, 2022 0.5366, 2023 0.5306
    (2022/2021 = -3.6 %, 2023/2022 = -1.1 %); South grid 2022 0.3869, 2023 0.4042 (+4.5 %); Guizhou 2022 0.4989 and
    Yunnan 2022 0.1073 (the lowest province)."""
    assert grid("national_average", 2021)["kg_co2_per_kwh"] == 0.5568
    assert grid("national_average", 2022)["kg_co2_per_kwh"] == 0.5366
    assert grid("national_average", 2023)["kg_co2_per_kwh"] == 0.5306
    assert round(0.5366 / 0.5568 - 1, 3) == -0.036 and round(0.5306 / 0.5366 - 1, 3) == -0.011
    assert grid("region", 2022, "South")["kg_co2_per_kwh"] == 0.3869
    assert grid("region", 2023, "South")["kg_co2_per_kwh"] == 0.4042
    assert round(0.4042 / 0.3869 - 1, 3) == 0.045
    assert grid("province", 2022, "Guizhou")["kg_co2_per_kwh"] == 0.4989
    assert grid("province", 2022, "Yunnan")["kg_co2_per_kwh"] == 0.1073
    provinces_2022 = [
        r["kg_co2_per_kwh"]
        for r in load("electricity.yaml")["grid_co2"]
        if r["scope"] == "province" and r["year"] == 2022
    ]
    assert min(provinces_2022) == 0.1073 and max(provinces_2022) == 0.7252  # Yunnan lowest, Hebei highest


def test_south_2021_is_the_2022_factor_plus_the_reported_fall():
    """South grid: 2022 0.3869, reported 0.0457 below 2021, so 2021 = 0.3869 + 0.0457 = 0.4326."""
    assert grid("region", 2021, "South")["kg_co2_per_kwh"] == pytest.approx(0.3869 + 0.0457)


def test_life_cycle_factors_of_the_2023_announcement():
    """MEE/NBS/NEA 2025 No. 3: national 0.6205, wind 0.0336, PV 0.0545, biomass 0.0457 kg CO2e/kWh; 2024 national 0.5777
    (0.5777 / 0.6205 - 1 = -6.9 %)."""
    data = load("electricity.yaml")
    average = {r["year"]: r["kg_co2e_per_kwh"] for r in data["lifecycle_average"]}
    assert average == {2023: 0.6205, 2024: 0.5777}
    assert round(0.5777 / 0.6205 - 1, 3) == -0.069
    technology = {r["technology"]: r for r in data["technology_lifecycle"]}
    assert {k: technology[k]["kg_co2e_per_kwh"] for k in ("wind", "solar_pv", "biomass")} == {
        "wind": 0.0336,
        "solar_pv": 0.0545,
        "biomass": 0.0457,
    }
    # the announcement covers hydro and solar thermal: no international stand-in is left for them
    assert technology["hydro"]["year"] == 2023 and technology["solar_thermal"]["year"] == 2023
    assert {k for k, r in technology.items() if r["source"] == "ipcc_ar5_annex3"} == {"geothermal", "ocean"}


def test_tier1_pfc_defaults_per_cell_technology():
    """IPCC 2006 Vol. 3 Table 4.15: CWPB CF4 0.4 kg/t Al, C2F6 0.04 kg/t Al (-99/+380 %); the slope data of Table 4.16
    no longer carries Tier 1 keys."""
    process = load("process.yaml")
    tier1 = process["pfc_tier1"]
    assert set(tier1) == {"CWPB", "SWPB", "VSS", "HSS"}
    assert tier1["CWPB"]["cf4_kg_per_t"] == 0.4
    assert tier1["CWPB"]["c2f6_kg_per_t"] == 0.04
    assert tier1["CWPB"]["cf4_uncertainty"] == "-99/+380 %"
    for spec in tier1.values():
        assert {"cf4_kg_per_t", "c2f6_kg_per_t", "cf4_uncertainty", "c2f6_uncertainty"} <= set(spec)
        assert spec["source"] == "ipcc2006_v3_t4_15"
    assert set(process["pfc"]) == {"CWPB", "SWPB", "VSS", "HSS"}
    assert all(not key.startswith("tier1") for spec in process["pfc"].values() for key in spec)
    assert (process["pfc"]["CWPB"]["slope"], process["pfc"]["CWPB"]["c2f6_cf4"]) == (0.143, 0.121)


def test_wood_waste_is_a_biomass_fuel_with_the_ipcc_defaults():
    """IPCC 2006 Vol. 2 Table 1.2: wood/wood waste NCV 15.6 TJ/Gg = 15.6 GJ/t; Table 1.3: 30.5 kg C/GJ, consistent with
    Table 1.4's 112,000 kg CO2/TJ (112,000 x 12/44 / 1000 = 30.55). Combustion CO2 (all biogenic):
    15.6 GJ/t / 1000 x 30.5 t C/TJ x 1.0 x 44/12 x 1000 = 1744.6 kg CO2/t.
    Tables 2.2 / 2.3, wood/wood waste: CH4 30, N2O 4 kg/TJ: 0.0156 TJ x 30 = 0.468 kg CH4/t, x 4 = 0.0624 kg N2O/t."""
    fuels = load("fuels.yaml")
    wood = fuels["fuels"]["wood_waste"]
    assert wood["family"] == "biomass" and wood["biomass_fraction"] == 1.0 and wood["unit"] == "t"
    assert wood["ncv_gj_per_unit"] == 15.6
    assert wood["carbon_content_tc_per_tj"] == pytest.approx(112000 * 12 / 44 / 1000, abs=0.05)
    co2_kg_per_t = (
        wood["ncv_gj_per_unit"] / 1000 * wood["carbon_content_tc_per_tj"] * wood["oxidation"] * 44 / 12 * 1000
    )
    assert co2_kg_per_t == pytest.approx(1744.6)
    biomass = fuels["non_co2"]["biomass"]
    assert biomass["energy"] == biomass["industry"] == {"ch4": 30, "n2o": 4}
    assert wood["ncv_gj_per_unit"] / 1000 * biomass["industry"]["ch4"] == pytest.approx(0.468)
    assert wood["ncv_gj_per_unit"] / 1000 * biomass["industry"]["n2o"] == pytest.approx(0.0624)


def test_wood_residues_are_burden_free_at_collection():
    fuels = load("fuels.yaml")
    supply = fuels["supply"][fuels["fuels"]["wood_waste"]["supply"]]
    assert supply["exchanges"] == [] and supply["source"] == "cutoff_recycled"
    assert fuels["sources"]["cutoff_recycled"] == load("materials.yaml")["sources"]["cutoff_recycled"]


def test_fossil_fuels_carry_no_biomass_fraction_and_every_fuel_has_a_non_co2_family():
    fuels = load("fuels.yaml")
    for key, fuel in fuels["fuels"].items():
        assert fuel["family"] in fuels["non_co2"], key
        if fuel["family"] != "biomass":
            assert "biomass_fraction" not in fuel, key
