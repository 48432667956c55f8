"""The product system of one inventory as a Brightway package (BW2Package) that others open with bw2io.

The package holds two databases: the factor set's background (every activity with its biosphere3 exchanges and
uncertainty) and `pcf-product-system`, one activity producing one declared unit from the inventory's exchanges
(per declared unit, allocated, electricity by the PCR's reported method). biosphere3 and the IPCC 2021 methods are
not inside: every Brightway 2.5 installation makes them with bw2io (`bw2io.create_default_biosphere3()` and the
bundled LCIA file), and the keys match. Import: `bw2io.BW2Package.import_file(path)`.

An input taken from an imported background database (a licensed one, such as ecoinvent) is not copied into the
package: it enters as its aggregated score, kg CO2e as the CO2e-only flow supplier values take, its comment naming
the database, version and activity code so that a recipient with that database can link it to their own copy.

It is written from a temporary project beside the engine's (deleted afterwards), so the engine's project stays
read-only. bw2data's current project is process-wide state: run this from the CLI or a worker, not inside a
serving API process.
"""

import uuid
from pathlib import Path

from lca_models.background import flow_keys, import_bw2data, write_background, write_biosphere_and_methods
from pcr_rules.inventory import Inventory

PRODUCT_SYSTEM = "pcf-product-system"


def export_product_system(engine, inventory: Inventory, folder: Path, suppliers=None) -> Path:
    """`suppliers`: the resolved supplier values of the inventory's items that name one (as for
    `FootprintEngine.calculate`); each becomes a CO2e exchange whose comment names its source."""
    from bw2io.package import BW2Package

    bd = import_bw2data(engine.settings.brightway_dir)
    pcr, foreground = engine.foreground(inventory, suppliers)
    exchanges = foreground.for_method(foreground.reported_electricity_method)
    background = engine.background.database
    home, scratch = bd.projects.current, f"pcf-export-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        bd.projects.set_current(scratch)
        write_biosphere_and_methods(bd, engine.factor_set)
        write_background(bd, engine.factor_set, background)
        flows = flow_keys(bd)
        key = (PRODUCT_SYSTEM, f"{pcr.id}-{uuid.uuid4().hex[:8]}".lower())
        rows = [{"input": key, "amount": 1.0, "type": "production"}]
        for exchange in exchanges:
            if exchange.database is not None:
                rows.append(_aggregated(foreground, exchange, flows))
            elif exchange.activity is not None:
                rows.append(
                    {
                        "input": (background, exchange.activity),
                        "amount": exchange.amount,
                        "type": "technosphere",
                        "comment": _comment(exchange),
                    }
                )
            else:
                rows.append(
                    {
                        "input": flows[exchange.flow],
                        "amount": exchange.amount,
                        "type": "biosphere",
                        "comment": _comment(exchange),
                    }
                )
        bd.Database(PRODUCT_SYSTEM).write(
            {
                key: {
                    "name": f"{inventory.product.name}, {pcr.declared_unit.description}",
                    "unit": pcr.declared_unit.unit,
                    "location": "CN",
                    "reference product": inventory.product.name,
                    "type": "process",
                    "exchanges": rows,
                    "comment": f"{pcr.id} {pcr.version}; factor set {engine.factor_set.id}; reference period "
                    f"{inventory.reference_period.start}..{inventory.reference_period.end}; "
                    f"{inventory.facility.name}, {inventory.facility.province}",
                }
            }
        )
        name = f"{pcr.id.lower()}-{inventory.reference_period.start.year}-{uuid.uuid4().hex[:6]}"
        path = BW2Package.export_objs([bd.Database(background), bd.Database(PRODUCT_SYSTEM)], name, folder=str(folder))
    finally:
        bd.projects.set_current(home)
        if scratch in bd.projects:
            bd.projects.delete_project(scratch, delete_dir=True)
    return Path(path)


def _comment(exchange) -> str:
    """The item and part an exchange comes from, and the supplier's value it takes where it takes one."""
    return f"{exchange.item} ({exchange.part}{': ' + exchange.source if exchange.source else ''})"


def _aggregated(foreground, exchange, flows) -> dict:
    """An imported activity as its cradle-to-gate score (the pack's total-method unit score x the amount)."""
    pack = foreground.backgrounds[(exchange.database, exchange.database_version)]
    unit_score = float(pack.unit_scores[0, pack.column(exchange.activity)])
    return {
        "input": flows["co2e_as_co2_fossil"],
        "amount": exchange.amount * unit_score,
        "type": "biosphere",
        "comment": f"{_comment(exchange)}; aggregated: {exchange.amount} x {unit_score} kg CO2e of activity "
        f"{exchange.activity} of {exchange.database} {exchange.database_version} (digest {pack.digest})",
    }
