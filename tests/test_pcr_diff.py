"""The changes between two PCR versions, field by field, as a new version lists them: the real 1.0.0 -> 1.1.0 pairs
of the registry (compare `pcr_rules/data/*-1.0.0.yaml` with their 1.1.0), and the rules of matching."""

import pytest

from pcr_rules.diff import Change, ChangeKind, diff
from pcr_rules.models import PCR
from pcr_rules.registry import default_registry

ADDED, REMOVED, CHANGED = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.CHANGED


def versions(pcr_id: str) -> tuple[PCR, PCR]:
    registry = default_registry()
    return registry.get(pcr_id, "1.0.0"), registry.get(pcr_id, "1.1.0")


def summary(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.path, c.kind.value) for c in changes]


@pytest.mark.parametrize("pcr", default_registry().list(), ids=lambda p: p.ref)
def test_a_version_compared_with_itself_has_no_changes(pcr):
    assert diff(pcr, pcr) == []
    assert diff(pcr.model_dump(), pcr) == []


def test_aluminium_1_1_0_adds_captive_power_provincial_factors_and_a_tier_1_pfc_default():
    old, new = versions("PCR-CN-ALUMINIUM")
    changes = diff(old, new)
    assert summary(changes) == [
        ("version", "changed"),
        ("standards", "removed"),  # the IPCC line reworded: one entry out, one in
        ("standards", "added"),
        ("standards", "added"),  # GB/T 32150-2015 for the captive units
        ("standards_zh", "removed"),  # the same in the Chinese titles
        ("standards_zh", "added"),
        ("standards_zh", "added"),
        ("boundary.included", "removed"),
        ("boundary.included", "added"),
        ("boundary.included_zh", "removed"),
        ("boundary.included_zh", "added"),
        ("electricity.location_level", "changed"),
        ("electricity.captive_fuels.bituminous_coal", "added"),
        ("electricity.captive_fuels.anthracite", "added"),
        ("electricity.captive_fuels.natural_gas", "added"),
        ("items[grid_electricity].label", "changed"),
        ("items[grid_electricity].label_zh", "changed"),
        ("items[anode_effect_minutes].required", "changed"),
        ("items[anode_effect_minutes].when_absent", "added"),
        ("items[anode_effect_minutes].note", "changed"),
        ("items[anode_effect_minutes].note_zh", "changed"),
        ("notes", "added"),
        ("notes_zh", "added"),
    ]
    by_path = {c.path: c for c in changes}
    assert (by_path["version"].old, by_path["version"].new) == ("1.0.0", "1.1.0")
    # 1.0.0 never names location_level: it compares as the model's default
    assert by_path["electricity.location_level"] == Change(
        "electricity.location_level", CHANGED, "national", "province"
    )
    assert by_path["electricity.captive_fuels.natural_gas"] == Change(
        "electricity.captive_fuels.natural_gas", ADDED, None, "m^3"
    )
    assert by_path["items[anode_effect_minutes].required"] == Change(
        "items[anode_effect_minutes].required", CHANGED, True, False
    )
    assert by_path["items[anode_effect_minutes].when_absent"].new["formula"] == "pfc_tier1"
    assert by_path["items[grid_electricity].label_zh"].new == "交流电耗（电解系列及辅助设施；电网及自备电厂）"
    assert [c.new for c in changes if c.path == "standards" and c.kind == ADDED][1] == (
        "GB/T 32150-2015 (fuel combustion of captive power units)"
    )
    assert [c.old for c in changes if c.path == "standards" and c.kind == REMOVED] == [
        "IPCC 2006 Guidelines Vol. 3 Ch. 4.4 (anode CO2 Tier 2, PFC Tier 2 slope method)"
    ]


def test_steel_1_1_0_adds_five_eaf_items_and_provincial_factors():
    old, new = versions("PCR-CN-STEEL")
    changes = diff(old, new)
    assert summary(changes) == [
        ("version", "changed"),
        ("boundary.included", "added"),
        ("boundary.included", "added"),
        ("boundary.included_zh", "added"),
        ("boundary.included_zh", "added"),
        ("electricity.location_level", "changed"),
        ("items[+eaf_charge_carbon]", "added"),
        ("items[+eaf_charge_coke]", "added"),
        ("items[+quicklime_flux]", "added"),
        ("items[+burnt_dolomite_flux]", "added"),
        ("items[+oxygen]", "added"),
        ("notes", "added"),
        ("notes", "added"),
        ("notes", "added"),
        ("notes_zh", "added"),
        ("notes_zh", "added"),
        ("notes_zh", "added"),
    ]
    oxygen = next(c.new for c in changes if c.path == "items[+oxygen]")
    assert (oxygen["unit"], oxygen["activity"], oxygen["plausible_per_declared_unit"]) == (
        "Nm3",
        "oxygen",
        {"min": 0.0, "max": 150.0},
    )


def test_cement_1_1_0_names_cems_sources_and_adds_biomass_kiln_fuel():
    old, new = versions("PCR-CN-CEMENT")
    changes = diff(old, new)
    assert summary(changes) == [
        ("version", "changed"),
        ("electricity.location_level", "changed"),
        ("measured_emissions.require_sources", "changed"),
        ("items[+kiln_biomass]", "added"),
        ("notes", "added"),
        ("notes_zh", "added"),
    ]
    assert changes[2] == Change("measured_emissions.require_sources", CHANGED, False, True)
    assert [p["id"] for p in changes[3].new["parameters"]] == [
        "ncv_gj_per_unit",
        "carbon_content_tc_per_tj",
        "biomass_fraction",
    ]


def test_items_are_matched_by_id_not_by_position():
    """Reordering the items is no change; an item inserted first is one addition, not a change of every row."""
    pcr = default_registry().get("PCR-CN-ALUMINIUM", "1.1.0")
    data = pcr.model_dump()
    data["items"].reverse()
    assert diff(pcr, data) == []
    inserted = pcr.model_dump()
    inserted["items"].insert(0, {**inserted["items"][1], "id": "alumina_imported"})
    assert summary(diff(pcr, inserted)) == [("items[+alumina_imported]", "added")]


def test_a_removed_item_and_a_changed_parameter_bound_are_named_by_their_ids():
    pcr = default_registry().get("PCR-CN-ALUMINIUM", "1.1.0")
    data = pcr.model_dump()
    data["items"] = [item for item in data["items"] if item["id"] != "diesel"]
    anode = next(item for item in data["items"] if item["id"] == "anode_net_consumption")
    anode["parameters"][0]["range"]["max"] = 0.04
    anode["plausible_per_declared_unit"]["max"] = 0.6
    changes = diff(pcr, data)
    assert changes == [
        Change("items[anode_net_consumption].parameters[sulphur_fraction].range.max", CHANGED, 0.05, 0.04),
        Change("items[anode_net_consumption].plausible_per_declared_unit.max", CHANGED, 0.55, 0.6),
        Change("items[-diesel]", REMOVED, old=pcr.item("diesel").model_dump(mode="json")),
    ]


def test_a_reworded_list_entry_is_one_removal_and_one_addition():
    pcr = default_registry().get("PCR-CN-CEMENT", "1.1.0")
    data = pcr.model_dump()
    data["boundary"]["excluded"] = [*data["boundary"]["excluded"], "packaging"]
    data["boundary"]["excluded_zh"] = [*data["boundary"]["excluded_zh"], "包装"]  # a translation keeps the count
    data["electricity"]["eligible_technologies"] = ["wind", "solar_pv"]
    changes = diff(pcr, data)
    assert Change("boundary.excluded", ADDED, new="packaging") in changes
    assert Change("boundary.excluded_zh", ADDED, new="包装") in changes
    assert {c.old for c in changes if c.path == "electricity.eligible_technologies"} == {
        "solar_thermal",
        "biomass",
        "geothermal",
        "ocean",
        "hydro",
    }
    assert all(c.kind == REMOVED for c in changes if c.path == "electricity.eligible_technologies")


def test_choices_of_a_parameter_are_matched_by_value():
    pcr = default_registry().get("PCR-CN-ALUMINIUM", "1.1.0")
    choices = [{"value": "CWPB", "label": "centre-worked prebake"}, {"value": "VSS", "label": "Soederberg"}]
    old = {**pcr.model_dump(), "parameters": [{"id": "pot_cell_technology", "label": "technology", "choices": choices}]}
    new = {**old, "parameters": [{**old["parameters"][0], "choices": [choices[1], {"value": "HSS", "label": "HSS"}]}]}
    assert summary(diff(old, new)) == [
        ("parameters[pot_cell_technology].choices[-CWPB]", "removed"),
        ("parameters[pot_cell_technology].choices[+HSS]", "added"),
    ]


def test_a_chinese_list_that_does_not_match_its_english_list_is_refused():
    """`boundary.excluded_zh` translates `boundary.excluded` entry for entry: 2 Chinese entries for 3 English ones
    cannot say which is which; an empty translation is no translation (Chinese pages show the English)."""
    data = default_registry().get("PCR-CN-CEMENT", "1.1.0").model_dump()
    data["boundary"]["excluded"] = [*data["boundary"]["excluded"], "packaging"]
    with pytest.raises(ValueError, match="excluded_zh has 2 entries where excluded has 3"):
        PCR.model_validate(data)
    data["boundary"]["excluded_zh"] = []
    assert PCR.model_validate(data).boundary.excluded_zh == []
