"""The product classes of steel and flat glass (BENCH, issue 21): PCR-CN-STEEL 2.0.0 classifies by product form
(continuous-cast semi-finished, rebar, wire rod, sections, plate, hot-rolled coil), PCR-CN-FLATGLASS 1.1.0 by
thickness range (GB 11614-2009 nominal thicknesses: ≤ 3, 3–6, 6–12, > 12 mm). The class names a comparable group
and changes no number of the footprint."""

import pytest
import yaml

from footprint_api.services.benchmarks import Group, possible_groups
from lca_models.pcr_check import check_pcr
from pcr_rules import default_registry
from pcr_rules.classification import KEY_SEPARATOR, product_class
from pcr_rules.inventory import Inventory
from pcr_rules.registry import DATA_DIR
from pcr_rules.validation import problems
from tests.conftest import load_example

STEEL = default_registry().get("PCR-CN-STEEL", "2.0.0")
GLASS = default_registry().get("PCR-CN-FLATGLASS", "1.1.0")


def _steel(version: str, form: str | None = "rebar") -> Inventory:
    data = load_example("steel-hebei-bfbof-2023.json")
    data["pcr"]["version"] = version
    if form:
        data["parameters"] = {"product_form": {"choice": form}}
    return Inventory.model_validate(data)


def _glass(thickness: str | None) -> Inventory:
    data = load_example("flat-glass-hebei-2023.json")
    data["pcr"]["version"] = "1.1.0"
    if thickness:
        data["parameters"] = {"thickness_range": {"choice": thickness}}
    return Inventory.model_validate(data)


@pytest.mark.parametrize("name", ["steel-2.0.0.yaml", "flat-glass-1.1.0.yaml"])
def test_the_new_versions_pass_the_full_check_and_translate_every_text(name):
    document = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
    assert check_pcr(document) == []
    assert len(document["notes"]) == len(document["notes_zh"]) and document["title_zh"]
    for parameter in document["parameters"]:
        assert parameter["label_zh"] and all(choice["label_zh"] for choice in parameter["choices"])
        assert all(KEY_SEPARATOR not in choice["value"] for choice in parameter["choices"])


def test_steel_is_classified_by_product_form_and_glass_by_thickness_range():
    assert STEEL.classification == ["product_form"] and GLASS.classification == ["thickness_range"]
    assert [c.value for c in STEEL.parameter("product_form").choices] == [
        "semi_finished",
        "rebar",
        "wire_rod",
        "sections",
        "plate",
        "hot_rolled_coil",
    ]
    assert [c.value for c in GLASS.parameter("thickness_range").choices] == ["le3", "3-6", "6-12", "gt12"]
    rebar = product_class(STEEL, {"product_form": "rebar"})
    assert (rebar.key, rebar.label_zh) == ("rebar", "热轧带肋钢筋（GB/T 1499.2）")
    assert product_class(GLASS, _glass("3-6").parameters).label_zh == "3 mm 以上至 6 mm（公称厚度 4、5、6 mm）"


def test_an_inventory_must_name_its_class_and_a_known_one():
    assert [(p.loc, p.code) for p in problems(_steel("2.0.0", None), STEEL)] == [
        ("parameters.product_form", "validation.required_parameter")
    ]
    assert [(p.loc, p.code) for p in problems(_steel("2.0.0", "tube"), STEEL)] == [
        ("parameters.product_form.choice", "validation.unknown_choice")
    ]
    assert [(p.loc, p.code) for p in problems(_glass(None), GLASS)] == [
        ("parameters.thickness_range", "validation.required_parameter")
    ]
    assert problems(_steel("2.0.0"), STEEL) == [] and problems(_glass("6-12"), GLASS) == []


def test_the_steel_products_declared_unit_is_a_new_major_version_and_1_x_stays_unclassified():
    """1 t of crude steel (1.x) and 1 t of rebar (2.0.0) are different declared products: a new major version, so
    no group holds both; the 1.x versions keep their single class."""
    assert "hot-rolled" in STEEL.declared_unit.description and "热轧" in STEEL.declared_unit.description_zh
    for version in ("1.0.0", "1.1.0"):
        assert default_registry().get("PCR-CN-STEEL", version).classification == []
    groups = set(possible_groups())
    assert {Group("PCR-CN-STEEL", 2, form, "1 t") for form in ("rebar", "sections", "plate")} <= groups
    assert Group("PCR-CN-STEEL", 1, "", "1 t") in groups
    assert Group("PCR-CN-FLATGLASS", 1, "3-6", "1 t") in groups and Group("PCR-CN-FLATGLASS", 1, "", "1 t") in groups


def test_the_product_form_changes_no_number(engine):
    """The Hebei BF-BOF example under 1.1.0 and under 2.0.0 as rebar: the same items, the same provincial grid
    factor (both location_level province) and the same formulas give the same total per tonne; the class only names
    the group the footprint is compared in."""
    before = engine.calculate(_steel("1.1.0", None))
    after = engine.calculate(_steel("2.0.0", "rebar"))
    assert after.total_kg_co2e == pytest.approx(before.total_kg_co2e, rel=1e-12)
