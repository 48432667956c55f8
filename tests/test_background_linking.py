"""A PCR item linked to an activity of an imported background database (pcr_rules.models.BackgroundLink).

The imported database is a small synthetic one (lca_models.backgrounds.synthetic, 60 activities) written into its own
bw2data project and prepared as a pack; the expected values are bw2calc's own LCA of that database, computed here:

- the linked item's contribution = bw2calc.LCA({activity: amount}, method).score, amount = the item's tonnes per
  tonne of aluminium x 1,000 kg/t (the activity is per kilogram);
- the footprint's total = the same inventory's footprint on the factor set (the link falling back) less the factor
  set's alumina row, plus that score — the rest of the system is untouched by the link;
- the kg of fossil CO2 the row carries = bw2calc's inventory of every "Carbon dioxide, fossil" flow times the amount.
"""

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR
from pcr_rules.registry import default_registry
from tests.conftest import load_example

DATABASE = "synthetic-linking"
PROJECT = "pcf-test-backgrounds"  # one project for the background tests: biosphere3 and the methods written once
ACTIVITIES = 60
SEED = 7
EXAMPLE = "aluminium-guizhou-2023.json"


class Registry:
    """The package's PCRs, with some replaced by linked variants (same id and version)."""

    def __init__(self, *pcrs: PCR):
        self.use(*pcrs)

    def use(self, *pcrs: PCR) -> None:
        self.pcrs = {(p.id, p.version): p for p in pcrs}

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        return self.pcrs.get((pcr_id, version)) or default_registry().get(pcr_id, version)

    def list(self) -> list[PCR]:
        return list(self.pcrs.values())


def linked_pcr(base: PCR, item: str, **link) -> PCR:
    """`base` with `item` linked (validated as a PCR document is)."""
    document = base.model_dump(mode="json", exclude_none=True)
    for row in document["items"]:
        if row["id"] == item:
            row["background"] = link
    return PCR.model_validate(document)


def bw2calc_score(bd, code: str, amount: float, method: tuple, database: str = DATABASE) -> float:
    import bw2calc

    lca = bw2calc.LCA({bd.get_node(database=database, code=code): amount}, method)
    lca.lci()
    lca.lcia()
    return float(lca.score)


def bw2calc_flow_mass(bd, code: str, amount: float, flow_name: str, database: str = DATABASE) -> float:
    """kg of every biosphere flow of that name (all compartments) through the activity's whole supply chain."""
    import bw2calc

    lca = bw2calc.LCA({bd.get_node(database=database, code=code): amount})
    lca.lci()
    rows = [row for node, row in lca.dicts.biosphere.items() if bd.get_node(id=node)["name"] == flow_name]
    return float(np.asarray(lca.inventory.sum(axis=1)).ravel()[rows].sum())


@pytest.fixture(scope="module")
def setup(engine, brightway_dir, tmp_path_factory):
    """A synthetic database prepared as version 1 (in use), an engine reading the library, and the activities the
    tests link: a per-kilogram non-core activity, and a core activity of another unit."""
    from lca_models.background import import_bw2data
    from lca_models.backgrounds import BackgroundLibrary, prepare_pack, write_synthetic
    from lca_models.config import LCASettings
    from lca_models.engine import FootprintEngine

    bd = import_bw2data(brightway_dir)
    home = bd.projects.current
    root = tmp_path_factory.mktemp("backgrounds")
    written = write_synthetic(PROJECT, DATABASE, ACTIVITIES, SEED, brightway_dir)
    methods = written["methods"]
    prepare_pack(PROJECT, DATABASE, root / DATABASE / "1", name=DATABASE, version="1", methods=methods)
    library = BackgroundLibrary(root)
    library.activate(DATABASE, "1")
    pack = library.current(DATABASE)
    by_unit: dict[str, list] = {}
    for column in range(pack.unit_scores.shape[1]):
        info = pack.activity(column)
        by_unit.setdefault(info.unit, []).append(info)
    per_kg = by_unit["kilogram"][-1]
    other_unit = by_unit["kilowatt hour"][0]
    bd.projects.set_current(home)
    registry = Registry()
    linked_engine = FootprintEngine(LCASettings(backgrounds_dir=root), registry)
    yield {
        "bd": bd,
        "root": root,
        "library": library,
        "methods": methods,
        "engine": linked_engine,
        "registry": registry,
        "per_kg": per_kg,
        "other_unit": other_unit,
    }
    bd.projects.set_current(home)


def engine_with(setup, *pcrs: PCR):
    """The engine over the library, its registry serving `pcrs` (one engine: building one takes about a second)."""
    setup["registry"].use(*pcrs)
    return setup["engine"]


def example() -> Inventory:
    return Inventory.model_validate(load_example(EXAMPLE))


def base_pcr() -> PCR:
    data = load_example(EXAMPLE)["pcr"]
    return default_registry().get(data["id"], data["version"])


def alumina_kg_per_declared_unit(result) -> float:
    """384,000 t alumina for 200,000 t aluminium (aluminium-guizhou-2023.json), times the allocation factor."""
    data = load_example(EXAMPLE)
    alumina = next(i for i in data["items"] if i["item"] == "alumina")["amount"]
    return alumina / data["production"]["amount"] * float(result.allocation["factor"]) * 1000.0


def row(result, item: str):
    return next(c for c in result.contributions if c.item == item)


@pytest.fixture(scope="module")
def linked(setup, engine):
    """The aluminium example with its alumina linked to the per-kg activity of the database in use, and the same
    inventory on the factor set (the session's engine: no library)."""
    info = setup["per_kg"]
    pcr = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg", name=info.name)
    linked_engine = engine_with(setup, pcr)
    return linked_engine, linked_engine.calculate(example()), engine.calculate(example())


def test_a_linked_item_takes_the_imported_activity_as_bw2calc_scores_it(setup, linked):
    _, result, _ = linked
    bd, info = setup["bd"], setup["per_kg"]
    amount = alumina_kg_per_declared_unit(result)
    with in_project(setup):
        expected = {key: bw2calc_score(bd, info.code, amount, setup["methods"][key]) for key in setup["methods"]}
    alumina = row(result, "alumina")
    assert alumina.kg_co2e == pytest.approx(expected["total"], rel=1e-9)
    assert (alumina.database, alumina.version) == (DATABASE, "1")
    assert expected["total"] > 0


def test_the_rest_of_the_footprint_is_the_factor_sets(setup, linked):
    """total(linked) = total(factor set) - alumina row(factor set) + bw2calc score, method by method."""
    _, result, plain = linked
    bd, info = setup["bd"], setup["per_kg"]
    amount = alumina_kg_per_declared_unit(result)
    with in_project(setup):
        score = {key: bw2calc_score(bd, info.code, amount, setup["methods"][key]) for key in setup["methods"]}
    plain_alumina = row(plain, "alumina")
    assert plain_alumina.database is None
    assert result.total_kg_co2e == pytest.approx(plain.total_kg_co2e - plain_alumina.kg_co2e + score["total"], rel=1e-9)
    # the factor set's alumina is fossil only; the imported activity's fossil score comes from its own method
    assert result.fossil_kg_co2e == pytest.approx(
        plain.fossil_kg_co2e - plain_alumina.kg_co2e + score["fossil"], rel=1e-9
    )
    assert result.biogenic_kg_co2e == pytest.approx(plain.biogenic_kg_co2e + score["biogenic"], rel=1e-9, abs=1e-9)
    assert result.land_use_kg_co2e == pytest.approx(plain.land_use_kg_co2e + score["land_use"], rel=1e-9, abs=1e-9)
    assert result.stages["raw_material_acquisition"] == pytest.approx(
        plain.stages["raw_material_acquisition"] - plain_alumina.kg_co2e + score["total"], rel=1e-9
    )
    assert not result.data_gaps_explained or all(
        g.code != "gap.background_unavailable" for g in result.data_gaps_explained
    )


def test_per_gas_rows_add_up_to_the_total_and_carry_the_imported_gases(setup, linked):
    _, result, _ = linked
    bd, info = setup["bd"], setup["per_kg"]
    assert sum(g.kg_co2e for g in result.per_gas.values()) == pytest.approx(result.total_kg_co2e, rel=1e-9)
    for gas, values in result.per_gas.items():  # the rows' gases add up to per_gas, gas by gas
        assert sum(c.gases.get(gas, 0.0) for c in result.contributions) == pytest.approx(values.mass_kg, rel=1e-9)
    amount = alumina_kg_per_declared_unit(result)
    with in_project(setup):
        co2 = bw2calc_flow_mass(bd, info.code, amount, "Carbon dioxide, fossil")
    gases = row(result, "alumina").gases
    assert co2 > 0
    assert gases["CO2 (fossil)"] + gases.get("CO2e not resolved by gas", 0.0) == pytest.approx(co2, rel=1e-9)
    # every characterised flow the pack does not name by gas is one row in kg CO2e
    other = result.per_gas.get("other greenhouse gases (kg CO2e)")
    if other is not None:
        assert other.mass_kg == pytest.approx(other.kg_co2e, rel=1e-12)


def test_an_imported_activity_is_one_aggregated_process(setup, linked):
    _, result, _ = linked
    info = setup["per_kg"]
    rows = [p for p in result.top_processes if p.database is not None]
    assert [(p.activity, p.name, p.database, p.version) for p in rows] == [(info.code, info.name, DATABASE, "1")]
    assert rows[0].kg_co2e == pytest.approx(row(result, "alumina").kg_co2e, rel=1e-12)


def test_the_footprint_records_the_database_version_and_solver(setup, linked):
    linked_engine, result, plain = linked
    manifest = json.loads((Path(setup["root"]) / DATABASE / "1" / "manifest.json").read_text())
    assert [b.model_dump() for b in result.backgrounds] == [
        {"name": DATABASE, "version": "1", "digest": manifest["digest"]}
    ]
    assert plain.backgrounds == []
    assert result.engine["solver"] == linked_engine.engine_info()["solver"] != ""
    # a stored result of before (no `backgrounds`) still loads
    stored = plain.model_dump(mode="json")
    stored.pop("backgrounds")
    assert type(plain).model_validate(stored).backgrounds == []


def test_a_database_not_prepared_falls_back_with_a_data_gap(setup, linked):
    _, _, plain = linked
    pcr = linked_pcr(base_pcr(), "alumina", database="ecoinvent-3.10-cutoff", activity="abc-123", unit="kg")
    result = engine_with(setup, pcr).calculate(example())
    assert result.total_kg_co2e == plain.total_kg_co2e
    assert result.backgrounds == []
    gap = next(g for g in result.data_gaps_explained if g.code == "gap.background_unavailable")
    assert gap.params == {
        "item": "alumina",
        "database": "ecoinvent-3.10-cutoff",
        "activity": "abc-123",
        "fallback": "alumina",
        "factor_set": "cn-2025.1",
    }
    assert gap.text in result.data_gaps


def test_an_activity_missing_from_the_database_falls_back_with_a_data_gap(setup, linked):
    _, _, plain = linked
    pcr = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity="not-in-it", unit="kg")
    result = engine_with(setup, pcr).calculate(example())
    assert result.total_kg_co2e == plain.total_kg_co2e
    gap = next(g for g in result.data_gaps_explained if g.code == "gap.background_activity_missing")
    assert (gap.params["database"], gap.params["version"], gap.params["activity"]) == (DATABASE, "1", "not-in-it")


def test_an_activity_of_another_unit_falls_back_with_a_data_gap(setup, linked):
    """The PCR says kg, the database's activity is per kilowatt hour: the engine does not guess a conversion."""
    _, _, plain = linked
    info = setup["other_unit"]
    pcr = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg")
    result = engine_with(setup, pcr).calculate(example())
    assert result.total_kg_co2e == plain.total_kg_co2e
    gap = next(g for g in result.data_gaps_explained if g.code == "gap.background_unit")
    assert (gap.params["unit"], gap.params["item_unit"]) == ("kilowatt hour", "t")


def test_a_database_without_samples_enters_the_monte_carlo_at_its_nominal_scores(setup, linked):
    """Version 1 was prepared without samples: the linked alumina varies by its activity data only (primary data,
    the PCR's default relative sd) and the result says that the database's own uncertainty is not in the interval."""
    linked_engine, result, _ = linked
    info = setup["per_kg"]
    engine_with(setup, linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg"))
    uncertainty = linked_engine.calculate(example(), monte_carlo_iterations=200, seed=7).uncertainty
    assert [(n.code, n.params) for n in uncertainty.notes] == [
        ("uncertainty.background_not_sampled", {"database": DATABASE, "version": "1"})
    ]
    assert uncertainty.p2_5_kg_co2e < result.total_kg_co2e < uncertainty.p97_5_kg_co2e


def test_a_supplier_footprint_replaces_the_link(setup):
    info = setup["per_kg"]
    pcr = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg")
    data = load_example(EXAMPLE)
    next(i for i in data["items"] if i["item"] == "alumina")["supplier_pcf_kg_co2e_per_unit"] = 600.0
    result = engine_with(setup, pcr).calculate(Inventory.model_validate(data))
    assert row(result, "alumina").part == "supplier_pcf"
    assert result.backgrounds == []


def test_a_pinned_version_keeps_its_values_when_another_is_in_use(setup, linked):
    """Version 2 doubles the activity's own biosphere exchanges: unpinned links take 2 (in use), pinned ones 1."""
    _, v1, _ = linked
    bd, info, root, library = setup["bd"], setup["per_kg"], setup["root"], setup["library"]
    from lca_models.backgrounds import prepare_pack

    with in_project(setup):
        node = bd.get_node(database=DATABASE, code=info.code)
        for exchange in node.biosphere():
            exchange["amount"] *= 2
            exchange.save()
        bd.Database(DATABASE).process()
        prepare_pack(PROJECT, DATABASE, root / DATABASE / "2", name=DATABASE, version="2", methods=setup["methods"])
        v2_score = bw2calc_score(bd, info.code, alumina_kg_per_declared_unit(v1), setup["methods"]["total"])
    library.activate(DATABASE, "2")
    try:
        unpinned = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg")
        pinned = linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg", version="1")
        now = engine_with(setup, unpinned).calculate(example())
        kept = engine_with(setup, pinned).calculate(example())
        missing = engine_with(
            setup, linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg", version="3")
        ).calculate(example())
    finally:
        library.activate(DATABASE, "1")
    assert row(now, "alumina").kg_co2e == pytest.approx(v2_score, rel=1e-9)
    assert row(now, "alumina").kg_co2e > row(v1, "alumina").kg_co2e
    assert [b.version for b in now.backgrounds] == ["2"]
    assert row(kept, "alumina").kg_co2e == row(v1, "alumina").kg_co2e
    assert [b.version for b in kept.backgrounds] == ["1"]
    gap = next(g for g in missing.data_gaps_explained if g.code == "gap.background_unavailable")
    assert gap.params["database"] == f"{DATABASE} 3"


@contextmanager
def in_project(setup):
    """bw2data's current project is process-wide: the synthetic one for bw2calc, then back."""
    bd = setup["bd"]
    home = bd.projects.current
    bd.projects.set_current(PROJECT)
    try:
        yield bd
    finally:
        bd.projects.set_current(home)


# --- the PCR language ---------------------------------------------------------------------------------------------


def aluminium_document() -> dict:
    return base_pcr().model_dump(mode="json", exclude_none=True)


def test_a_link_converts_the_item_unit_to_the_activity_unit():
    from pcr_rules.models import link_factor

    assert link_factor("t", "kilogram") == pytest.approx(1000.0)
    assert link_factor("t", "ton") == pytest.approx(1.0)  # a database's "ton" is the metric tonne, not pint's short ton
    assert link_factor("t*km", "ton kilometer") == pytest.approx(1.0)
    assert link_factor("kWh", "megajoule") == pytest.approx(3.6)
    assert link_factor("unit", "unit") == 1.0


@pytest.mark.parametrize(
    ("link", "loc", "words"),
    [
        ({"database": "db", "activity": "a", "unit": "kWh"}, "items[1].background.unit", "cannot be converted"),
        ({"database": "db", "activity": "a", "unit": "kgg"}, "items[1].background.unit", "not a unit"),
        ({"database": "../db", "activity": "a", "unit": "kg"}, "items[1].background.database", "a database name"),
        ({"database": "eco invent", "activity": "a", "unit": "kg"}, "items[1].background.database", "a database name"),
        ({"database": "db", "activity": "a", "unit": "kg", "version": "3..1"}, "items[1].background.version", "'..'"),
        ({"database": "", "activity": "a", "unit": "kg"}, "items[1].background.database", "at least 1"),
        ({"database": "db", "activity": "", "unit": "kg"}, "items[1].background.activity", "at least 1"),
        ({"database": "db", "activity": "x" * 201, "unit": "kg"}, "items[1].background.activity", "at most 200"),
        (
            {"database": "db", "activity": "a", "unit": "kg", "version": "1/2"},
            "items[1].background.version",
            "a version",
        ),
        ({"database": "db", "activity": "a", "unit": "kg", "extra": 1}, "items[1].background.extra", "not permitted"),
    ],
)
def test_a_link_that_cannot_be_taken_is_refused_naming_its_field(link, loc, words):
    from lca_models.pcr_check import check_pcr

    document = aluminium_document()
    assert document["items"][1]["id"] == "alumina"
    document["items"][1]["background"] = link
    problems = check_pcr(document)
    found = [p for p in problems if p.loc == loc]
    assert found, problems
    assert words in found[0].message
    if loc.endswith(".unit") and "converted" in words:
        assert "item alumina" in found[0].message


def test_a_link_belongs_to_input_items_only():
    from lca_models.pcr_check import check_pcr

    document = aluminium_document()
    index, fuel = next((i, row) for i, row in enumerate(document["items"]) if row["kind"] == "fuel")
    fuel["background"] = {"database": "db", "activity": "a", "unit": fuel["unit"]}
    problems = [p for p in check_pcr(document) if p.loc == f"items[{index}].background"]
    assert problems and "input items only" in problems[0].message


def test_a_linked_pcr_passes_the_full_check_and_keeps_its_link_through_the_schema():
    from lca_models.pcr_check import check_pcr
    from pcr_rules.language import pcr_json_schema

    document = aluminium_document()
    document["items"][1]["background"] = {
        "database": "ecoinvent-3.10-cutoff",
        "activity": "0f8b6a3c-2d4e-4f61-9a7b-5c3d2e1f0a9b",
        "unit": "kilogram",
        "name": "aluminium oxide, metallurgical grade, production",
        "version": "3.10",
    }
    assert check_pcr(document) == []
    assert PCR.model_validate(document).items[1].background.unit == "kilogram"
    schema = pcr_json_schema()
    assert set(schema["$defs"]["BackgroundLink"]["properties"]) == {"database", "activity", "unit", "name", "version"}
    assert "imported background database" in schema["$defs"]["ItemSpec"]["properties"]["background"]["description"]


def test_the_example_of_the_language_guide_is_a_valid_item():
    """docs/pcr-language.md section 2.2 shows a linked item; it parses as one."""
    import yaml

    from pcr_rules.models import ItemSpec, link_factor

    text = (Path(__file__).resolve().parents[1] / "docs" / "pcr-language.md").read_text(encoding="utf-8")
    section = text[text.index("### 2.2") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    item = ItemSpec.model_validate(yaml.safe_load(block)["items"][0])
    assert item.background.database == "ecoinvent-3.10-cutoff"
    assert item.background.version == "3.10"
    assert link_factor(item.unit, item.background.unit) == 1000.0


def test_the_exported_product_system_carries_the_imported_activity_as_its_score(setup, linked, tmp_path):
    """The licensed database is not copied into the Brightway package: the linked alumina enters as its aggregated
    kg CO2e (the CO2e-only flow, characterised 1:1 by IPCC 2021, as supplier values are), the comment naming the
    database, version and activity; every other exchange is as before (tests/test_brightway_export.py shows such a
    package reproduces the footprint in another project)."""
    from bw2io.package import BW2Package

    from lca_models.export import PRODUCT_SYSTEM, export_product_system

    linked_engine, result, _ = linked
    info = setup["per_kg"]
    engine_with(setup, linked_pcr(base_pcr(), "alumina", database=DATABASE, activity=info.code, unit="kg"))
    path = export_product_system(linked_engine, example(), tmp_path)
    databases = {entry["name"]: entry["data"] for entry in BW2Package.load_file(str(path))}
    assert DATABASE not in databases
    (product,) = databases[PRODUCT_SYSTEM].values()
    assert all(e["input"][0] != DATABASE for e in product["exchanges"])
    (alumina,) = [e for e in product["exchanges"] if e.get("comment", "").startswith("alumina")]
    assert alumina["type"] == "biosphere"
    assert f"activity {info.code} of {DATABASE} 1" in alumina["comment"]
    assert alumina["amount"] == pytest.approx(row(result, "alumina").kg_co2e, rel=1e-12)
