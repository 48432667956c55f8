"""Hostile and careless input to the linking of PCR items to imported background activities.

The packs here are written by hand with the pack writer (lca_models.backgrounds.pack.write_pack): three activities
whose unit scores are chosen so that every expected figure is arithmetic on the factor-set footprint of the same
inventory (the link falling back), e.g. for the aluminium example with alumina linked to an activity of score s per
kg: total = total(factor set) - alumina row(factor set) + alumina kg per declared unit x s. A damaged pack (a
`current.json` that is no JSON object, a cut `activities.json`, arrays shorter than the activity list, numbers that
are not finite, a manifest naming another database) must leave the footprint on the factor set with its data gap:
never an exception in the worker, never a wrong or NaN number.
"""

import json
import math
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from lca_models.backgrounds import BackgroundLibrary
from lca_models.backgrounds.pack import write_pack
from pcr_rules.inventory import Inventory
from pcr_rules.models import PCR, BackgroundLink
from pcr_rules.registry import default_registry
from tests.conftest import load_example

EXAMPLE = "aluminium-guizhou-2023.json"
GOOD = "attack-good"
CODES = ("a-kg", "b-kg", "c-kwh")
UNITS = ("kilogram", "kilogram", "kilowatt hour")


class Registry:
    """The package's PCRs, with some replaced by linked variants (same id and version)."""

    def __init__(self):
        self.pcrs: dict = {}

    def use(self, *pcrs: PCR) -> None:
        self.pcrs = {(p.id, p.version): p for p in pcrs}

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        return self.pcrs.get((pcr_id, version)) or default_registry().get(pcr_id, version)

    def list(self) -> list[PCR]:
        return list(self.pcrs.values())


def write(root: Path, name: str, version: str, scores=(2.0, -3.0, 0.5), **changes) -> Path:
    """A pack of three activities; total = fossil = score, gases: 3/4 of it as fossil CO2, 1/4 as "other" kg CO2e."""
    total = np.array(scores, dtype=float)
    arrays = {
        "unit_scores": np.vstack([total, total, np.zeros(3), np.zeros(3)]),
        "gas_masses": np.vstack([0.75 * total, 0.25 * total]),
        "direct_scores": np.zeros(3),
    }
    manifest = {
        "name": name,
        "version": version,
        "digest": "d" * 64,
        "gases": ["co2_fossil", "other"],
        "gas_factors": {"co2_fossil": 1.0, "other": 1.0},
        "samples": 0,
    }
    activities = [
        {"code": c, "name": f"<script>alert('{c}')</script>", "reference_product": c, "location": "GLO", "unit": u}
        for c, u in zip(CODES, UNITS, strict=True)
    ]
    arrays.update({k: v for k, v in changes.items() if k in arrays})
    manifest.update(changes.get("manifest", {}))
    out = root / name / version
    write_pack(out, manifest=manifest, activities=activities, gases=["co2_fossil", "other"], **arrays)
    return out


def activate(root: Path, name: str, version: str) -> None:
    (root / name / "current.json").write_text(json.dumps({"name": name, "version": version}))


def linked_pcr(**links) -> PCR:
    document = base_pcr().model_dump(mode="json", exclude_none=True)
    for row in document["items"]:
        if row["id"] in links:
            row["background"] = links[row["id"]]
    return PCR.model_validate(document)


def base_pcr() -> PCR:
    data = load_example(EXAMPLE)["pcr"]
    return default_registry().get(data["id"], data["version"])


def example() -> Inventory:
    return Inventory.model_validate(load_example(EXAMPLE))


def kg_per_declared_unit(result, item: str) -> float:
    """t of the item for 200,000 t aluminium, times the allocation factor, in kg."""
    data = load_example(EXAMPLE)
    amount = next(i for i in data["items"] if i["item"] == item)["amount"]
    return amount / data["production"]["amount"] * float(result.allocation["factor"]) * 1000.0


def row(result, item: str):
    return next(c for c in result.contributions if c.item == item)


@pytest.fixture(scope="module")
def setup(engine, tmp_path_factory):
    from lca_models.config import LCASettings
    from lca_models.engine import FootprintEngine

    root = tmp_path_factory.mktemp("attack-backgrounds")
    write(root, GOOD, "1")
    activate(root, GOOD, "1")
    registry = Registry()
    linked_engine = FootprintEngine(LCASettings(backgrounds_dir=root), registry)
    plain = engine.calculate(example())
    return {"root": root, "engine": linked_engine, "registry": registry, "plain": plain}


def calculate(setup, **links):
    setup["registry"].use(linked_pcr(**links))
    return setup["engine"].calculate(example())


def link(database: str, activity: str = "a-kg", **extra) -> dict:
    return {"database": database, "activity": activity, "unit": "kg", **extra}


def assert_fell_back(setup, result, item: str = "alumina") -> None:
    """The footprint is the factor set's, number for number, and says why."""
    plain = setup["plain"]
    assert result.total_kg_co2e == pytest.approx(plain.total_kg_co2e, rel=1e-12)
    assert all(math.isfinite(g.kg_co2e) for g in result.per_gas.values())
    assert row(result, item).database is None
    assert result.backgrounds == []
    assert any(g.code == "gap.background_unavailable" and g.params["item"] == item for g in result.data_gaps_explained)


# --- the engine over damaged packs ---------------------------------------------------------------------------------


def test_a_negative_unit_score_enters_with_its_sign_and_per_gas_rows_still_add_up(setup):
    """b-kg scores -3 kg CO2e/kg (a credit): total = plain - alumina(plain) + kg x (-3)."""
    result = calculate(setup, alumina=link(GOOD, "b-kg"))
    plain = setup["plain"]
    kg = kg_per_declared_unit(result, "alumina")
    expected = plain.total_kg_co2e - row(plain, "alumina").kg_co2e + kg * -3.0
    assert result.total_kg_co2e == pytest.approx(expected, rel=1e-12)
    assert row(result, "alumina").kg_co2e == pytest.approx(-3.0 * kg, rel=1e-12)
    assert sum(g.kg_co2e for g in result.per_gas.values()) == pytest.approx(result.total_kg_co2e, rel=1e-9)
    for gas, values in result.per_gas.items():
        assert sum(c.gases.get(gas, 0.0) for c in result.contributions) == pytest.approx(values.mass_kg, rel=1e-9)


@pytest.mark.parametrize(
    "marker", ["[]", '"1"', "7", "null", '{"version": 5}', '{"version": "../../etc"}', '{"version": null}', "{not json"]
)
def test_a_current_json_that_is_garbage_falls_back_and_never_raises(setup, marker):
    name = f"attack-marker-{uuid.uuid4().hex[:6]}"
    write(setup["root"], name, "1")
    (setup["root"] / name / "current.json").write_text(marker)
    assert_fell_back(setup, calculate(setup, alumina=link(name)))


def test_a_cut_activities_file_falls_back(setup):
    name = f"attack-cut-{uuid.uuid4().hex[:6]}"
    out = write(setup["root"], name, "1")
    text = (out / "activities.json").read_text()
    (out / "activities.json").write_text(text[: len(text) // 2])
    activate(setup["root"], name, "1")
    assert_fell_back(setup, calculate(setup, alumina=link(name)))


def test_arrays_shorter_than_the_activity_list_fall_back_rather_than_index_past_them(setup):
    """activities.json lists 3 activities, unit_scores holds 2 columns: c-kwh (column 2) has no numbers."""
    name = f"attack-short-{uuid.uuid4().hex[:6]}"
    write(
        setup["root"],
        name,
        "1",
        unit_scores=np.ones((4, 2)),
        gas_masses=np.ones((2, 2)),
        direct_scores=np.zeros(2),
    )
    activate(setup["root"], name, "1")
    assert_fell_back(setup, calculate(setup, alumina=link(name, "c-kwh")))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_unit_score_that_is_not_finite_falls_back_instead_of_a_nan_footprint(setup, bad):
    name = f"attack-nan-{uuid.uuid4().hex[:6]}"
    write(setup["root"], name, "1", scores=(bad, 1.0, 1.0))
    activate(setup["root"], name, "1")
    assert_fell_back(setup, calculate(setup, alumina=link(name)))


def test_two_packs_whose_manifests_claim_the_same_name_never_mix_their_numbers(setup):
    """Directories x/1 and y/1 both say "name: x": alumina linked to x (score 2), aluminium fluoride to y (score
    100). Keyed by the manifest's name, y's pack replaced x's and alumina took y's numbers; a pack whose manifest does
    not name its own directory is not the pack the link names: y falls back, x is used."""
    x, y = f"attack-x-{uuid.uuid4().hex[:6]}", f"attack-y-{uuid.uuid4().hex[:6]}"
    write(setup["root"], x, "1")
    write(setup["root"], y, "1", scores=(100.0, 100.0, 100.0), manifest={"name": x})
    activate(setup["root"], x, "1")
    activate(setup["root"], y, "1")
    result = calculate(setup, alumina=link(x), aluminium_fluoride=link(y))
    plain = setup["plain"]
    kg = kg_per_declared_unit(result, "alumina")
    expected = plain.total_kg_co2e - row(plain, "alumina").kg_co2e + kg * 2.0
    assert result.total_kg_co2e == pytest.approx(expected, rel=1e-12)
    assert row(result, "aluminium_fluoride").database is None
    assert [b.name for b in result.backgrounds] == [x]


def test_a_version_directory_whose_manifest_names_another_version_is_not_taken(setup):
    """Directory 2 (in use) holds a manifest saying version "3" (score 100); directory 3 is version 3 (score 2).
    alumina takes the version in use, aluminium fluoride pins "3": keyed by the manifest's (name, version) both
    packs were one key, and one item took the other's numbers. Directory 2 is not the pack it claims: alumina falls
    back, aluminium fluoride takes version 3 at 2 kg CO2e/kg."""
    name = f"attack-dir-{uuid.uuid4().hex[:6]}"
    write(setup["root"], name, "2", scores=(100.0, 100.0, 100.0), manifest={"version": "3"})
    write(setup["root"], name, "3")
    activate(setup["root"], name, "2")
    result = calculate(setup, alumina=link(name), aluminium_fluoride=link(name, version="3"))
    plain = setup["plain"]
    kg = kg_per_declared_unit(result, "aluminium_fluoride")
    expected = plain.total_kg_co2e - row(plain, "aluminium_fluoride").kg_co2e + kg * 2.0
    assert result.total_kg_co2e == pytest.approx(expected, rel=1e-12)
    assert row(result, "alumina").database is None
    assert [(b.name, b.version) for b in result.backgrounds] == [(name, "3")]


def test_a_version_activated_during_a_footprint_gives_its_items_one_version(setup):
    """Two items linked to the version in use; the version is switched between the two look-ups (a library that
    activates the other version at each call): both items take the version of the first look-up."""
    name = f"attack-switch-{uuid.uuid4().hex[:6]}"
    write(setup["root"], name, "1", scores=(2.0, 2.0, 2.0))
    write(setup["root"], name, "2", scores=(4.0, 4.0, 4.0))
    activate(setup["root"], name, "1")

    class Switching(BackgroundLibrary):
        def current(self, database):
            pack = super().current(database)
            if database == name:
                activate(self.root, name, "2" if pack.version == "1" else "1")
            return pack

    engine = setup["engine"]
    engine.library, kept = Switching(setup["root"]), engine.library
    try:
        result = calculate(setup, alumina=link(name), aluminium_fluoride=link(name))
    finally:
        engine.library = kept
    assert [(b.name, b.version) for b in result.backgrounds] == [(name, "1")]
    assert {row(result, i).version for i in ("alumina", "aluminium_fluoride")} == {"1"}


@pytest.mark.parametrize("unit", [None, 12, "10**10**10 kg", "m\\", ""])
def test_an_activity_unit_that_is_no_unit_falls_back_with_the_unit_gap(setup, unit):
    name = f"attack-unit-{uuid.uuid4().hex[:6]}"
    out = write(setup["root"], name, "1")
    rows = json.loads((out / "activities.json").read_text())
    rows[0]["unit"] = unit
    (out / "activities.json").write_text(json.dumps(rows))
    activate(setup["root"], name, "1")
    result = calculate(setup, alumina=link(name))
    assert result.total_kg_co2e == pytest.approx(setup["plain"].total_kg_co2e, rel=1e-12)
    assert any(g.code == "gap.background_unit" for g in result.data_gaps_explained)


# --- Monte Carlo over packs without usable samples ----------------------------------------------------------------


def monte_carlo(setup, name: str):
    from lca_models.montecarlo import run_monte_carlo

    setup["registry"].use(linked_pcr(alumina=link(name)))
    engine = setup["engine"]
    _, foreground = engine.foreground(example())
    return run_monte_carlo(engine, foreground, 50, seed=3)


@pytest.mark.parametrize(
    "samples",
    [np.full((3, 10), math.nan), np.ones((2, 10)), np.ones(3)],
    ids=["not finite", "fewer rows than activities", "one dimension"],
)
def test_samples_that_cannot_be_the_packs_never_give_a_wrong_or_nan_interval(setup, samples):
    """The same seed gives the interval of the pack without samples (nominal unit scores, with the note) where the
    engine sets the samples aside, or the factor set's (the whole pack refused as not prepared, with the data gap)
    where the pack reader refuses it at opening; never one drawn from samples of another shape or NaN."""
    name = f"attack-mc-{uuid.uuid4().hex[:6]}"
    out = write(setup["root"], name, "1")
    activate(setup["root"], name, "1")
    nominal = monte_carlo(setup, name)
    fallback = monte_carlo(setup, f"attack-none-{uuid.uuid4().hex[:6]}")
    assert [n.code for n in nominal.notes] == ["uncertainty.background_not_sampled"] and not fallback.notes
    np.save(out / "samples.npy", samples)
    stamp = (out / "manifest.json").stat().st_mtime_ns + 10**9  # the library reopens a pack whose manifest changed
    os.utime(out / "manifest.json", ns=(stamp, stamp))
    result = monte_carlo(setup, name)
    assert math.isfinite(result.mean_kg_co2e) and math.isfinite(result.p97_5_kg_co2e)
    expected = nominal if result.notes else fallback
    assert result.mean_kg_co2e == pytest.approx(expected.mean_kg_co2e, rel=1e-12)
    assert result.p97_5_kg_co2e == pytest.approx(expected.p97_5_kg_co2e, rel=1e-12)
    assert [n.code for n in result.notes] == [n.code for n in expected.notes]


# --- the link as a PCR writes it -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"database": "ecoinvent\n"},
        {"database": "ecoinvent", "version": "3.10\n"},
        {"database": "../ecoinvent"},
        {"database": "eco/../../x"},
        {"database": "ｅｃｏ"},
        {"database": "e" * 101},
        {"database": "ecoinvent", "version": ".."},
        {"database": "ecoinvent", "activity": " code"},
        {"database": "ecoinvent", "activity": "co\u202ede"},
        {"database": "ecoinvent", "activity": "x" * 201},
    ],
)
def test_a_link_whose_names_could_leave_the_library_is_refused(values):
    with pytest.raises(ValidationError):
        BackgroundLink(**{"activity": "code", "unit": "kg", **values})


@pytest.mark.parametrize("unit", ["10**10**10 kg", "kg**10**10", "9**(99*99*99*99) kg", "((10**99)**99)**99 kg"])
def test_a_link_unit_that_would_make_pint_compute_for_minutes_is_refused_at_once(unit):
    """The link's unit is read by pint when the PCR is checked; `10**10**10` passed the unit guard (its exponent
    check backtracked to `1`), and pint then computed 10^(10^10). Run in a child process so that a regression fails
    within 60 s instead of holding the test run."""
    import subprocess
    import sys

    program = (
        "import sys\nfrom pcr_rules.units import UnitProblem, parse_unit\n"
        "try:\n    parse_unit(sys.argv[1])\nexcept UnitProblem:\n    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", program, unit], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "refused", done.stderr


# --- the pages: the activity search and the editor's link route -------------------------------------------------

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def searchable(world):
    """A database in use whose activity names are hostile markup (names come from imported licensed data), and a
    draft of sb's author whose item 3 (quicklime, an input) may be linked."""
    from footprint_api.persistence.db import session_scope
    from footprint_api.persistence.models import BackgroundActivity, BackgroundDatabase
    from footprint_api.services import pcr_registry
    from tests.test_pcr_lifecycle import new_pcr_id, principal
    from tests.test_web_pcr_authoring import EMM

    name = f"atk-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        version = BackgroundDatabase(
            name=name, version="1.0", state="ready", progress=1.0, in_use=True, format="ecospold2", source="/x",
            project=f"pcf-bg-{uuid.uuid4().hex[:8]}",
        )  # fmt: skip
        session.add(version)
        session.flush()
        for column, code in enumerate(("100%_pure", "lime_1")):
            session.add(
                BackgroundActivity(
                    database_id=version.id, column=column, code=code, name=f"{HOSTILE} {code}",
                    reference_product=HOSTILE, location="CN", unit="kg", unit_score=1.0,
                )
            )  # fmt: skip
        session.commit()
    pcr_id = new_pcr_id()
    document = {**EMM, "id": pcr_id, "version": "0.1.0", "items": [dict(item) for item in EMM["items"]]}
    with session_scope() as session:
        author = principal("sb-author")
        pcr_registry.create_draft(session, author, pcr_id, "0.1.0", "empty")
        pcr_registry.replace_document(session, author, pcr_id, "0.1.0", document)
    return {"database": name, "pcr": pcr_id}


@pytest.fixture(scope="module")
def browsers(world):
    from tests.web_client import Browser

    return {user: Browser(world.client.app, user, lang="zh-CN") for user in ("root", "sb-author")}


@pytest.mark.parametrize(
    "query",
    [
        "page=%C2%B2",  # '²': str.isdigit() says yes, int() refuses
        "page=%D9%A1%D9%A1",  # Arabic-Indic digits
        "size=%C2%B2&page=1",
        "pcr={pcr}&pcr_version=0.1.0&item=%C2%B2",
        "pcr={pcr}%0A&pcr_version=0.1.0&item=3",
        "page=-1",
        "page=99999999999999999999999",
        "q=%25",
        "q=_",
        "q=" + "x" * 10_000,
    ],
)
def test_hostile_search_addresses_are_answered_with_a_page_never_500(browsers, searchable, query):
    response = browsers["sb-author"].get(f"/app/backgrounds/activities?{query.format(pcr=searchable['pcr'])}")
    assert response.status_code in (200, 422), response.status_code
    assert "text/html" in response.headers["content-type"]


def test_wildcards_in_the_query_match_themselves_only(browsers, searchable):
    """`%` finds the activity whose code and name hold "100%" only, `_` the two whose names hold an underscore."""
    page = browsers["root"].get(f"/app/backgrounds/activities?q=%25&database={searchable['database']}").text
    assert page.count("data-activity=") == 1 and 'data-activity="100%_pure"' in page
    page = browsers["root"].get(f"/app/backgrounds/activities?q=_&database={searchable['database']}").text
    assert page.count("data-activity=") == 2


def test_an_activity_name_that_is_markup_is_shown_as_text_in_the_search(browsers, searchable):
    page = (
        browsers["sb-author"]
        .get(
            f"/app/backgrounds/activities?database={searchable['database']}&pcr={searchable['pcr']}"
            "&pcr_version=0.1.0&item=3"
        )
        .text
    )
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize("item", ["²", "١", "3" * 5000, "-3", "3.0"])
def test_the_link_route_answers_a_hostile_item_index_with_422(browsers, searchable, item):
    from tests.web_client import csrf_of

    author = browsers["sb-author"]
    token = csrf_of(author.get("/app/backgrounds/activities").text)
    response = author.client.post(
        f"/app/pcr-authoring/{searchable['pcr']}/0.1.0/background",
        data={"item": item, "database": searchable["database"], "activity": "lime_1", "csrf_token": token},
    )
    assert response.status_code == 422


def test_the_link_route_refuses_a_post_without_the_form_token(browsers, searchable):
    response = browsers["sb-author"].client.post(
        f"/app/pcr-authoring/{searchable['pcr']}/0.1.0/background",
        data={"item": "3", "database": searchable["database"], "activity": "lime_1"},
    )
    assert response.status_code == 403
