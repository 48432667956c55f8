"""Per item, per gas: every contribution row carries the mass of each gas next to its CO2e — a direct emission its
own flow, a background input the gases of its whole supply chain — and the rows add up to the per-gas result.

The small cement inventory below (1,000 t cement) is calculated by hand from the factor-set sources:
- bituminous coal, GB/T 32150-2015 Table B.1: NCV 19.570 GJ/t, carbon content 26.18 t C/TJ, oxidation 0.93;
  CH4 10 and N2O 1.5 kg/TJ (IPCC 2006 Vol. 2 Table 2.3, manufacturing industries);
  coal mining CH4 (18 + 2.5) m3/t x 0.67 kg/m3 = 13.735 kg/t (IPCC 2006 Vol. 2 Ch. 4.1.3.2, Tier 1 underground);
- diesel, GB/T 32150-2015 Table B.1: NCV 42.652 GJ/t, 20.20 t C/TJ, oxidation 0.98; CH4 3 and N2O 0.6 kg/TJ
  (IPCC 2006 Vol. 2 Table 2.3);
- limestone at the quarry (materials.yaml, screening): 3 kWh grid electricity + 0.0005 t diesel burned per t.
"""

import io
import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from footprint_api.cli import app
from footprint_api.exports.text import result_table
from lca_models.flows import FLOWS
from lca_models.results import FootprintResult
from tests.builders import item, make_inventory
from tests.conftest import EXAMPLES, inventory, load_example

C_TO_CO2 = 44 / 12
CO2, CH4, N2O, NOT_RESOLVED = (FLOWS[k].label for k in ("co2_fossil", "ch4_fossil", "n2o", "co2e_as_co2_fossil"))

COAL_T_PER_T = 0.12  # kiln coal per t cement
LIMESTONE_T_PER_T = 1.2
KWH_PER_T = 60.0


def small_cement():
    return make_inventory(
        "PCR-CN-CEMENT",
        1000,
        "t",
        [
            item(
                "clinker",
                800,
                "t",
                parameters={
                    "cao_fraction": {"amount": 0.65, "unit": "1"},
                    "mgo_fraction": {"amount": 0.02, "unit": "1"},
                },
            ),
            item("kiln_coal", COAL_T_PER_T * 1000, "t"),
            item("limestone", LIMESTONE_T_PER_T * 1000, "t"),
            item("grid_electricity", KWH_PER_T * 1000, "kWh"),
        ],
    )


@pytest.fixture(scope="module")
def cement(engine):
    return engine.calculate(small_cement())


def row(result: FootprintResult, item_id: str, part: str):
    (found,) = [c for c in result.contributions if c.item == item_id and c.part == part]
    return found


def chain_gases(factor_set, code: str) -> dict[str, float]:
    """kg of each gas per unit of a background activity, by walking its inputs in the factor set's data (the
    electricity part of a quarry's chain is data that may change; the diesel part is what is hand-calculated)."""
    gases: dict[str, float] = {}
    for exchange in factor_set.activity(code).exchanges:
        inner = (
            {FLOWS[exchange.flow].label: 1.0} if exchange.flow is not None else chain_gases(factor_set, exchange.input)
        )
        for gas, kg in inner.items():
            gases[gas] = gases.get(gas, 0.0) + exchange.amount * kg
    return gases


def test_the_coal_combustion_row_carries_exactly_the_coal_combustion_gases(cement):
    """CO2 per t coal = 19.570 GJ x 26.18 t C/TJ x 0.93 x 44/12 = 512.3426 x 0.93 x 3.666667 = 1,747.0883 kg;
    x 0.12 t coal per t cement = 209.6506 kg CO2.
    CH4 = 0.019570 TJ x 10 kg/TJ = 0.1957 kg/t coal x 0.12 = 0.023484 kg;
    N2O = 0.019570 TJ x 1.5 kg/TJ = 0.029355 kg/t coal x 0.12 = 0.0035226 kg. No other gas."""
    combustion = row(cement, "kiln_coal", "combustion")
    assert combustion.gases[CO2] == pytest.approx(19.570 * 26.18 * 0.93 * C_TO_CO2 * COAL_T_PER_T, rel=1e-9)
    assert combustion.gases[CO2] == pytest.approx(209.6506, rel=1e-6)
    assert combustion.gases[CH4] == pytest.approx(0.023484, rel=1e-9)
    assert combustion.gases[N2O] == pytest.approx(0.0035226, rel=1e-9)
    assert set(combustion.gases) == {CO2, CH4, N2O}


def test_the_co2e_of_a_row_is_its_gases_times_their_gwp(cement):
    """AR6 GWP100: CH4 fossil 29.8, N2O 273: 209.65059 + 0.023484 x 29.8 + 0.0035226 x 273
    = 209.65059 + 0.69982 + 0.96167 = 211.31208 kg CO2e."""
    combustion = row(cement, "kiln_coal", "combustion")
    assert combustion.kg_co2e == pytest.approx(
        combustion.gases[CO2] + combustion.gases[CH4] * 29.8 + combustion.gases[N2O] * 273, rel=1e-9
    )
    assert combustion.kg_co2e == pytest.approx(211.31208, rel=1e-6)


def test_the_coal_supply_row_carries_the_mining_methane(cement):
    """Coal mining: 13.735 kg CH4 per t coal x 0.12 t = 1.6482 kg CH4, nothing else. (Background amounts are
    stored in single precision by Brightway's matrices: agreement to 1e-6.)"""
    supply = row(cement, "kiln_coal", "supply")
    assert supply.gases == {CH4: pytest.approx(1.6482, rel=1e-6)}


def test_a_process_row_carries_its_own_flow(cement):
    """Clinker (GB/T 32151.8): 0.8 t clinker per t x (0.65 x 0.7857143 + 0.02 x 1.1) = 0.8 x 0.5327143
    = 0.42617143 t = 426.17143 kg CO2 per t cement."""
    assert row(cement, "clinker", "process").gases == {CO2: pytest.approx(426.17143, rel=1e-6)}


def test_a_background_input_carries_the_gases_of_its_supply_chain(engine, cement):
    """Limestone, 1.2 t per t cement, each with 0.0005 t diesel burned at the quarry:
    diesel CO2 = 42.652 GJ x 20.20 t C/TJ x 0.98 x 44/12 = 3,095.9096 kg/t; x 0.0005 x 1.2 = 1.857546 kg CO2;
    CH4 = 0.042652 TJ x 3 kg/TJ = 0.127956 kg/t x 0.0006 t = 7.67736e-5 kg;
    N2O = 0.042652 TJ x 0.6 kg/TJ = 0.0255912 kg/t x 0.0006 t = 1.535472e-5 kg.
    Plus 3 kWh x 1.2 = 3.6 kWh of grid electricity with whatever gases its factor carries."""
    factor_set = engine.factor_set
    electricity = chain_gases(factor_set, factor_set.for_year("electricity_grid_lifecycle", 2023))
    limestone = row(cement, "limestone", "input")
    diesel = {CO2: 1.857546, CH4: 7.67736e-5, N2O: 1.535472e-5}
    assert diesel[CO2] == pytest.approx(42.652 * 20.20 * 0.98 * C_TO_CO2 * 0.0005 * LIMESTONE_T_PER_T, rel=1e-6)
    for gas, kg in diesel.items():
        assert limestone.gases[gas] - 3.6 * electricity.get(gas, 0.0) == pytest.approx(kg, rel=1e-6)
    assert set(limestone.gases) == set(diesel) | {g for g, kg in electricity.items() if kg}


def test_grid_electricity_gases_follow_the_factor_whatever_its_split(engine, cement):
    """60 kWh per t: each gas = 60 x its mass per kWh in the chosen (location or market) factor; the row's CO2e
    is those gases characterised, so a factor split into CO2 and an unresolved remainder keeps its total."""
    grid = row(cement, "grid_electricity", "electricity")
    per_kwh = {gas: kg / KWH_PER_T for gas, kg in grid.gases.items()}
    assert grid.gases and all(kg > 0 for kg in grid.gases.values())
    cf = {CO2: 1.0, NOT_RESOLVED: 1.0, CH4: 29.8, N2O: 273}
    assert grid.kg_co2e == pytest.approx(KWH_PER_T * sum(cf[g] * kg for g, kg in per_kwh.items()), rel=1e-6)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_items_gases_add_up_to_the_per_gas_result(engine, example):
    result = engine.calculate(inventory(load_example(example.name)))
    summed: dict[str, float] = {}
    for contribution in result.contributions:
        for gas, kg in contribution.gases.items():
            summed[gas] = summed.get(gas, 0.0) + kg
    assert set(summed) == set(result.per_gas)
    for gas, total in result.per_gas.items():
        assert summed[gas] == pytest.approx(total.mass_kg, rel=1e-9, abs=1e-12)


def test_the_small_inventorys_gases_add_up_too(cement):
    """Coal combustion and mining CH4, quarry diesel and clinker CO2 all appear in the totals."""
    for gas, total in cement.per_gas.items():
        assert sum(c.gases.get(gas, 0.0) for c in cement.contributions) == pytest.approx(total.mass_kg, rel=1e-9)
    assert cement.per_gas[CH4].mass_kg > 1.6482  # mining CH4 plus combustion and quarry CH4


def test_the_factorised_and_the_naive_paths_give_the_same_gases_per_item(engine, cement):
    from lca_models.naive import calculate_naive

    naive = calculate_naive(engine, small_cement())
    for contribution in cement.contributions:
        other = row(naive, contribution.item, contribution.part)
        assert other.gases.keys() == contribution.gases.keys()
        for gas, kg in contribution.gases.items():
            assert other.gases[gas] == pytest.approx(kg, rel=1e-9)


def test_a_result_stored_before_items_carried_gases_still_reads(cement):
    stored = json.loads(cement.model_dump_json())
    for contribution in stored["contributions"]:
        del contribution["gases"]
    assert FootprintResult.model_validate(stored).contributions[0].gases == {}


# --- what people read -------------------------------------------------------------------------------------------


def test_the_cli_table_prints_each_items_gas_masses(cement, tmp_path):
    path = tmp_path / "cement.json"
    path.write_text(small_cement().model_dump_json())
    out = CliRunner().invoke(app, ["calculate", str(path), "--format", "table"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    heading = next(line for line in lines if line.strip().startswith("item (part)"))
    for gas in (CO2, CH4, N2O):
        assert gas in heading
    coal = next(line for line in lines if line.strip().startswith("kiln_coal (combustion)"))
    assert "209.651" in coal and "0.023484" in coal and "0.0035226" in coal
    assert out.stdout == result_table(cement) + "\n"


def test_the_cli_json_carries_the_gases_per_item(cement, tmp_path):
    path = tmp_path / "cement.json"
    path.write_text(small_cement().model_dump_json())
    out = CliRunner().invoke(app, ["calculate", str(path)])
    rows = {(c["item"], c["part"]): c for c in json.loads(out.stdout)["contributions"]}
    assert rows[("kiln_coal", "supply")]["gases"] == {CH4: pytest.approx(1.6482, rel=1e-6)}


def test_the_pdf_report_has_a_table_of_gases_per_item(cement):
    from footprint_api.core.settings import get_settings
    from footprint_api.exports.report import render_report
    from label_service.render import find_font

    facts = {
        "product": "test cement",
        "manufacturer": "test",
        "facility": "test plant",
        "pcr": "PCR-CN-CEMENT 1.0.0",
        "footprint_id": "f-1",
        "created": "2024-01-01",
        "label": "",
    }
    pdf = render_report(json.loads(cement.model_dump_json()), facts, find_font(get_settings().label_font))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Greenhouse gases per item" in text
    assert "CO2 (fossil) (kg)" in text and "209.7" in text and "1.648" in text  # four significant digits


def test_the_footprint_page_shows_each_items_gases_in_a_table_with_headers(world):
    """Aluminium: the anode-effect row's CF4 and C2F6 and the alumina row's CH4 in columns headed by their gas."""
    from footprint_api.web.routes.manufacturer import number
    from tests.labelling import calculated_footprint
    from tests.web_client import Browser

    footprint = calculated_footprint(world, example="aluminium-guizhou-2023.json", gtin=None)
    result = world.call("acme-engineer", "GET", f"/api/v1/footprints/{footprint['footprint_id']}").json()["result"]
    page = Browser(world.client.app, "acme-engineer").get(f"/app/footprints/{footprint['footprint_id']}").text
    table = page[page.index("data-contributions") :]
    table = table[: table.index("</table>")]
    for gas in result["per_gas"]:
        assert f'<th scope="col" class="num" data-gas="{gas}">' in table
    anode = next(c for c in result["contributions"] if c["item"] == "anode_effect_minutes")
    assert f">{number(anode['gases']['CF4'])}<" in table and f">{number(anode['gases']['C2F6'])}<" in table
