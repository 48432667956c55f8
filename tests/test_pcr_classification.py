"""The product class in the PCR language (`PCR.classification`) and the rules between items (`require_one_of`,
`ItemSpec.required_with`) that let a grinding station declare bought clinker (issue 20)."""

import copy

import pytest
import yaml

from lca_models.pcr_check import check_pcr
from pcr_rules.classification import ProductClass, UnclassifiedProduct, product_class
from pcr_rules.diff import diff
from pcr_rules.inventory import Inventory
from pcr_rules.language import pcr_json_schema
from pcr_rules.parameters import product_parameter_values
from pcr_rules.registry import DATA_DIR, default_registry
from pcr_rules.validation import problems
from tests.builders import inventory_data, item

CEMENT = default_registry().get("PCR-CN-CEMENT", "1.2.0")
PO_42_5 = {"cement_type": {"choice": "P·O"}, "strength_class": {"choice": "42.5"}}


def cement_document() -> dict:
    return yaml.safe_load((DATA_DIR / "cement-1.2.0.yaml").read_text(encoding="utf-8"))


def cement(items: list[dict], parameters: dict | None = None) -> Inventory:
    data = inventory_data(
        "PCR-CN-CEMENT", 100_000, "t", items, parameters=PO_42_5 if parameters is None else parameters
    )
    data["pcr"]["version"] = "1.2.0"
    return Inventory.model_validate(data)


GRINDING = [
    item("purchased_clinker", 75_000, "t"),
    item("gypsum", 5_000, "t"),
    item("grid_electricity", 3_500_000, "kWh"),
]
KILN = [
    item(
        "clinker",
        75_000,
        "t",
        parameters={
            "cao_fraction": {"amount": 0.65, "unit": "dimensionless"},
            "mgo_fraction": {"amount": 0.02, "unit": "dimensionless"},
        },
    ),
    item("kiln_coal", 12_000, "t"),
    item("gypsum", 5_000, "t"),
    item("grid_electricity", 9_000_000, "kWh"),
]


def codes(inventory: Inventory, pcr=CEMENT) -> list[tuple[str, str]]:
    return [(p.loc, p.code) for p in problems(inventory, pcr)]


# --- the product class ---------------------------------------------------------------------------------------------


def test_the_class_of_a_cement_is_its_type_and_strength_class():
    """GB 175-2023: P·O 42.5 is the key 'P·O/42.5', named by the choices' names in either language."""
    assert product_class(CEMENT, PO_42_5) == ProductClass(
        "P·O/42.5", "P·O ordinary Portland cement 42.5", "P·O 普通硅酸盐水泥 42.5"
    )


def test_the_class_reads_the_values_as_formulas_read_them_too():
    inventory = cement(GRINDING, {"cement_type": {"choice": "P·S·A"}, "strength_class": {"choice": "32.5R"}})
    values = product_parameter_values(inventory, CEMENT)  # codes: {"cement_type": "P·S·A", ...}
    assert product_class(CEMENT, values) == product_class(CEMENT, inventory.parameters)
    assert product_class(CEMENT, values).key == "P·S·A/32.5R"
    assert product_class(CEMENT, values).label_zh == "P·S·A 矿渣硅酸盐水泥 32.5R（早强型）"


def test_a_pcr_without_classification_has_one_class_the_whole_category():
    for pcr_id, version in (("PCR-CN-STEEL", "1.1.0"), ("PCR-CN-CLINKER", None), ("PCR-CN-ALUMINIUM", None)):
        assert product_class(default_registry().get(pcr_id, version), {}) == ProductClass("", "—", "全部")


def test_a_classification_parameter_not_given_takes_its_default():
    document = cement_document()
    document["parameters"][1].update(required=False, default="42.5")
    pcr = CEMENT.model_validate(document)
    assert product_class(pcr, {"cement_type": {"choice": "P·O"}}).key == "P·O/42.5"


def test_without_a_valid_value_there_is_no_class():
    with pytest.raises(UnclassifiedProduct, match="strength_class"):
        product_class(CEMENT, {"cement_type": {"choice": "P·O"}})
    with pytest.raises(UnclassifiedProduct, match="cement_type"):
        product_class(CEMENT, {"cement_type": {"choice": "P.O"}, "strength_class": {"choice": "42.5"}})


def test_cement_1_2_0_requires_its_class_and_names_each_missing_parameter():
    assert codes(cement(GRINDING, {})) == [
        ("parameters.cement_type", "validation.required_parameter"),
        ("parameters.strength_class", "validation.required_parameter"),
    ]
    wrong = cement(GRINDING, {**PO_42_5, "strength_class": {"choice": "72.5"}})
    assert codes(wrong) == [("parameters.strength_class.choice", "validation.unknown_choice")]


# --- the language checks the classification ------------------------------------------------------------------------


def test_every_published_version_with_a_classification_passes_the_full_check():
    assert check_pcr(cement_document()) == []
    assert CEMENT.classification == ["cement_type", "strength_class"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["classification"].append("kiln_type"), [("classification[2]", "pcr.unknown_parameter")]),
        (lambda d: d["classification"].append("cement_type"), [("classification[2]", "pcr.duplicate_id")]),
        (lambda d: d["parameters"][0].update(required=False), [("classification[0]", "pcr.missing_default")]),
        (
            lambda d: (
                d["parameters"].append({"id": "fineness", "label": "Blaine", "unit": "m^2/kg", "required": True})
                or d["classification"].append("fineness")
            ),
            [("classification[2]", "pcr.wrong_type")],
        ),
    ],
    ids=["unknown", "twice", "optional-without-default", "a-number"],
)
def test_a_classification_names_each_required_choice_parameter_once(change, expected):
    document = cement_document()
    change(document)
    assert [(e.loc, e.code) for e in check_pcr(document)] == expected


def test_a_classification_parameter_is_not_an_unused_parameter():
    """No formula reads the cement type; it is used all the same, as the product class. Taken out of the
    classification it is unused, as before."""
    document = cement_document()
    document["classification"] = ["strength_class"]
    assert [(e.loc, e.code) for e in check_pcr(document)] == [("parameters[0].id", "pcr.unused_parameter")]


def test_the_schema_describes_the_new_fields_in_both_languages():
    schema = pcr_json_schema()
    assert "产品类别" in schema["properties"]["classification"]["description"]
    assert "至少" in schema["properties"]["require_one_of"]["description"]
    assert "必填" in schema["$defs"]["ItemSpec"]["properties"]["required_with"]["description"]


def test_the_version_comparison_lists_the_class_and_the_purchased_clinker():
    changes = diff(default_registry().get("PCR-CN-CEMENT", "1.1.0"), CEMENT)
    added = {c.path: c.new for c in changes if c.kind == "added"}
    assert [c.new for c in changes if c.path == "classification"] == ["cement_type", "strength_class"]
    assert added["items[kiln_coal].required_with"] == "clinker" and "items[+purchased_clinker]" in added
    assert [(c.old, c.new) for c in changes if c.path == "items[clinker].required"] == [(True, False)]
    assert [c.new for c in changes if c.path == "require_one_of"] == [[["clinker", "purchased_clinker"]]]


# --- own clinker, purchased clinker, or both -------------------------------------------------------------------------


def test_a_grinding_station_gives_purchased_clinker_and_no_kiln():
    assert codes(cement(GRINDING)) == []


def test_a_kiln_plant_gives_its_own_clinker_and_its_kiln_coal():
    assert codes(cement(KILN)) == []
    assert codes(cement([*KILN, item("purchased_clinker", 5_000, "t")])) == []  # clinker bought beside its own


def test_one_of_own_or_purchased_clinker_must_be_given():
    """Neither: one problem at `items`, naming both items in the reader's language."""
    [problem] = problems(cement(GRINDING[1:]), CEMENT)
    assert (problem.loc, problem.code) == ("items", "validation.missing_one_of")
    assert problem.params["items_zh"] == ["本水泥所用自产熟料", "外购熟料"]
    assert problem.params["item_ids"] == ["clinker", "purchased_clinker"]


def test_own_clinker_requires_the_kiln_coal():
    [problem] = problems(cement([i for i in KILN if i["item"] != "kiln_coal"]), CEMENT)
    assert (problem.loc, problem.code, problem.params["item_id"]) == ("items", "validation.required_with", "kiln_coal")
    assert problem.params["given_zh"] == ["本水泥所用自产熟料"]


def test_a_smelter_takes_grid_or_direct_line_power():
    smelter = default_registry().get("PCR-CN-ALUMINIUM", "1.3.0")
    common = [item("alumina", 1_920, "t"), item("anode_net_consumption", 410, "t")]
    for power in ([item("grid_electricity", 13_500_000, "kWh")], [item("direct_line_electricity", 13_500_000, "kWh")]):
        data = inventory_data("PCR-CN-ALUMINIUM", 1_000, "t", power + common)
        data["pcr"]["version"] = "1.3.0"
        assert codes(Inventory.model_validate(data), smelter) == []
    data = inventory_data("PCR-CN-ALUMINIUM", 1_000, "t", common)
    data["pcr"]["version"] = "1.3.0"
    assert codes(Inventory.model_validate(data), smelter) == [("items", "validation.missing_one_of")]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["require_one_of"][0].append("kiln"), [("require_one_of[0][2]", "pcr.unknown_item")]),
        (lambda d: d["require_one_of"].append(["gypsum"]), [("require_one_of[1]", "pcr.missing")]),
        (
            lambda d: d["require_one_of"].append(["grid_electricity", "gypsum"]),
            [("require_one_of[1][0]", "pcr.misplaced")],
        ),
        (
            lambda d: d["items"][6]["required_with"].append("kiln_coal"),
            [("items[6].required_with[1]", "pcr.unknown_item")],
        ),
        (lambda d: d["items"][6].update(required=True), [("items[6].required_with", "pcr.misplaced")]),
    ],
    ids=["unknown-item", "one-item", "a-required-item", "itself", "required-anyway"],
)
def test_the_rules_between_items_name_other_items_that_are_not_required(change, expected):
    document = copy.deepcopy(cement_document())
    assert document["items"][6]["id"] == "kiln_coal"
    change(document)
    assert [(e.loc, e.code) for e in check_pcr(document)] == expected


def test_the_clinker_category_is_named_in_both_languages():
    from footprint_api.core import names

    assert names.pcr_category("PCR-CN-CLINKER", "zh") == "硅酸盐水泥熟料"
    assert names.pcr_category("PCR-CN-CLINKER", "en") == "Portland cement clinker"
    assert names.pcr_title(default_registry().get("PCR-CN-CLINKER"), "zh") == "硅酸盐水泥熟料（出窑，从摇篮到大门）"


@pytest.mark.parametrize("pcr", default_registry().list(), ids=lambda pcr: pcr.ref)
def test_every_product_parameter_and_choice_has_a_chinese_name(pcr):
    """The product class is shown on Chinese pages by these names (ProductClass.label_zh)."""
    unnamed = [p.id for p in pcr.parameters if not p.label_zh]
    unnamed += [f"{p.id}={c.value}" for p in pcr.parameters for c in p.choices if not c.label_zh]
    assert unnamed == []
