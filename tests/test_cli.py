"""The `pcf` command line: JSON for machines, a table for people, exit code 2 and the field on bad input."""

import json

from typer.testing import CliRunner

from footprint_api.cli import app
from tests.conftest import ROOT

runner = CliRunner()
ALUMINIUM = str(ROOT / "pcr_rules" / "examples" / "aluminium-guizhou-2023.json")


def test_calculate_prints_the_result_as_json(engine):
    out = runner.invoke(app, ["calculate", ALUMINIUM])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    for key in (
        "declared_unit",
        "pcr",
        "total_kg_co2e",
        "fossil_kg_co2e",
        "biogenic_kg_co2e",
        "location_based_kg_co2e",
        "market_based_kg_co2e",
        "contributions",
    ):
        assert key in result
    assert result["pcr"] == {"id": "PCR-CN-ALUMINIUM", "version": "1.0.0"}


def test_calculate_table_for_people(engine):
    out = runner.invoke(app, ["calculate", ALUMINIUM, "--format", "table"])
    assert out.exit_code == 0
    assert "Market-based total" in out.stdout and "grid_electricity" in out.stdout


def test_invalid_inventory_names_the_field_and_exits_2(tmp_path):
    data = json.loads((ROOT / "pcr_rules" / "examples" / "cement-guizhou-2023.json").read_text())
    data["items"][2]["unit"] = "kg"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    out = runner.invoke(app, ["calculate", str(path)])
    assert out.exit_code == 2
    assert "items[2].unit" in out.stderr


def test_malformed_json_and_missing_fields_exit_2(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert runner.invoke(app, ["validate", str(broken)]).exit_code == 2
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"pcr": {"id": "PCR-CN-CEMENT", "version": "1.0.0"}}))
    out = runner.invoke(app, ["validate", str(partial)])
    assert out.exit_code == 2 and "production: Field required" in out.stderr


def test_unknown_pcr_exits_2(tmp_path):
    data = json.loads((ROOT / "pcr_rules" / "examples" / "cement-guizhou-2023.json").read_text())
    data["pcr"]["version"] = "9.9.9"
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(data))
    out = runner.invoke(app, ["validate", str(path)])
    assert out.exit_code == 2 and "no PCR PCR-CN-CEMENT version 9.9.9" in out.stderr


def test_pcr_list_and_show():
    listing = runner.invoke(app, ["pcr", "list"])
    assert listing.exit_code == 0
    rows = [line.split()[:2] for line in listing.stdout.splitlines() if line.startswith("PCR-CN-")]
    # every category (the five, and clinker since issue 20), each version on its own row
    assert len({pcr_id for pcr_id, _ in rows}) == 6
    assert ["PCR-CN-ALUMINIUM", "1.0.0"] in rows and ["PCR-CN-ALUMINIUM", "1.1.0"] in rows
    shown = runner.invoke(app, ["pcr", "show", "PCR-CN-STEEL"])
    assert json.loads(shown.stdout)["declared_unit"]["unit"] == "t"
    assert runner.invoke(app, ["pcr", "show", "PCR-CN-NOPE"]).exit_code == 2


def test_validate_examples():
    for path in sorted((ROOT / "pcr_rules" / "examples").glob("*.json")):
        out = runner.invoke(app, ["validate", str(path)])
        assert out.exit_code == 0, out.output


def test_export_brightway_writes_a_package(engine, tmp_path):
    result = runner.invoke(
        app,
        [
            "export-brightway",
            str(ROOT / "pcr_rules" / "examples" / "steel-hebei-bfbof-2023.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.suffix for p in tmp_path.iterdir()] == [".bw2package"]


def test_serve_refuses_a_certificate_without_its_key(tmp_path, monkeypatch):
    from footprint_api.core.settings import get_settings

    monkeypatch.setenv("PCF_TLS_CERTFILE", str(tmp_path / "cert.pem"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 2 and "go together" in result.output


def test_the_examples_ship_with_the_package_and_print():
    listed = runner.invoke(app, ["example"])
    assert listed.exit_code == 0 and "cement-guizhou-2023" in listed.output.split()
    printed = runner.invoke(app, ["example", "cement-guizhou-2023"])
    assert printed.exit_code == 0 and json.loads(printed.output)["pcr"]["id"] == "PCR-CN-CEMENT"
    assert runner.invoke(app, ["example", "no-such"]).exit_code == 2


def test_the_examples_are_package_data_so_an_installed_demo_has_them():
    """`pip install .` (the Dockerfile) ships the example inventories the demo loads: the demo once looked for
    them beside the source tree and, installed, seeded nothing (issue 11 item 12)."""
    import tomllib
    from fnmatch import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pcr_rules"]
    examples = sorted(
        p.relative_to(ROOT / "pcr_rules").as_posix() for p in (ROOT / "pcr_rules" / "examples").glob("*.json")
    )
    assert len(examples) == 6 and all(any(fnmatch(e, g) for g in globs) for e in examples)
    import footprint_api.services.demo as demo

    assert "parents[1]" not in (ROOT / "footprint_api" / "services" / "demo.py").read_text() and demo.examples.paths()
