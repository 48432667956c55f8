"""Small background databases written by the tests at run time, in the formats the service imports: an ecospold2
folder (zipped), an openLCA JSON-LD package (olca-schema 2, zipped), and Brightway's Excel and CSV formats. Six
activities with a loop (power uses diesel, diesel uses power), lognormal uncertainty on part of the exchanges,
and CO2, CH4 and N2O by their biosphere3 (ecoinvent elementary exchange) UUIDs. Generated data, no licensed data.

`SYSTEM` is the one system every writer writes; `expected_scores` computes its GWP100 unit scores independently
(numpy on the same numbers) for the assertions."""

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

NAMESPACE = uuid.UUID("5a8f1e8e-6f0b-4d3c-9a57-2b0e8c4d1f10")

# biosphere3 codes = ecoinvent's elementary exchange UUIDs (air, unspecified), and their IPCC 2021 GWP100 factors
# (bw2io's "IPCC 2021 climate change GWP 100a": CO2 fossil 1, CH4 fossil 29.8, N2O 273)
FLOWS = {
    "co2": ("349b29d1-3e58-4c66-98b9-9d1a076efd2e", "Carbon dioxide, fossil", 1.0),
    "ch4": ("0795345f-c7ae-410c-ad25-1845784c75f5", "Methane, fossil", 29.8),
    "n2o": ("20185046-64bb-4c09-a8e7-e8a9e144ca98", "Dinitrogen monoxide", 273.0),
}
# a flow biosphere3 does not have: an import naming it stops in needs_attention
UNKNOWN_FLOW = ("0badf100-0000-4000-8000-000000000001", "Unobtainium hexafluoride", 0.0)


@dataclass
class Activity:
    key: str
    name: str
    product: str
    unit: str  # as the file writes it: kg, kWh, MJ, t*km
    location: str
    inputs: dict[str, float] = field(default_factory=dict)  # activity key -> amount per unit of product
    emissions: dict[str, float] = field(default_factory=dict)  # flow key -> kg per unit of product
    sigma: float = 0.0  # lognormal sigma of every input and emission (0: none)

    @property
    def id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, "activity/" + self.key))

    @property
    def product_id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, "product/" + self.key))


SYSTEM = [
    Activity(
        "power",
        "electricity production, hard coal",
        "electricity, high voltage",
        "kWh",
        "CN",
        {"diesel": 0.01},
        {"co2": 0.9, "ch4": 0.002},
        sigma=0.1,
    ),
    Activity(
        "diesel",
        "diesel production, petroleum refinery",
        "diesel",
        "kg",
        "RoW",
        {"power": 0.1},
        {"co2": 0.3, "ch4": 0.003},
    ),
    Activity(
        "lorry",
        "transport, freight, lorry 16-32 metric ton",
        "transport, freight, lorry",
        "t*km",
        "RoW",
        {"diesel": 0.03},
        {"co2": 0.095, "n2o": 0.000004},
        sigma=0.05,
    ),
    Activity(
        "clinker",
        "clinker production",
        "clinker",
        "kg",
        "CN",
        {"power": 0.08, "lorry": 0.05},
        {"co2": 0.82, "n2o": 0.00001},
        sigma=0.05,
    ),
    Activity(
        "cement",
        "cement production, Portland",
        "cement, Portland",
        "kg",
        "CN",
        {"clinker": 0.9, "power": 0.04, "lorry": 0.1},
        {"co2": 0.01},
    ),
    Activity(
        "steel",
        "steel production, converter, low-alloyed",
        "steel, low-alloyed",
        "kg",
        "CN",
        {"power": 0.5, "diesel": 0.02, "lorry": 0.2},
        {"co2": 1.6, "ch4": 0.001},
    ),
]


def expected_scores(system: list[Activity] = SYSTEM) -> dict[str, float]:
    """kg CO2e per unit of each activity's product: h = c B A^-1, solved with numpy (independent of Brightway)."""
    import numpy as np

    index = {activity.key: i for i, activity in enumerate(system)}
    n = len(system)
    a = np.eye(n)
    direct = np.zeros(n)
    for activity in system:
        j = index[activity.key]
        for source, amount in activity.inputs.items():
            a[index[source], j] -= amount
        direct[j] = sum(FLOWS[flow][2] * amount for flow, amount in activity.emissions.items())
    scores = np.linalg.solve(a.T, direct)
    return {activity.key: float(scores[index[activity.key]]) for activity in system}


# --- ecospold2 ---------------------------------------------------------------------------------------------------

ES2 = "http://www.EcoInvent.org/EcoSpold02"
UNIT_IDS = {
    "kg": "487df68b-4994-4027-8fdc-a4dc298257b7",
    "kWh": "77ae64fa-7e74-4252-9c3b-889c1cd20bfc",
    "t*km": "a6a5ad7a-3a2a-4d13-8b8d-4b7e8ab1b3d1",
    "MJ": "980b811e-3905-4797-82a5-173f5568bc7e",
}


def _uncertainty(amount: float, sigma: float) -> str:
    if not sigma or amount <= 0:
        return ""
    import math

    mu = math.log(amount)
    return (
        f'<uncertainty><lognormal meanValue="{amount}" mu="{mu}" variance="{sigma**2}" '
        f'varianceWithPedigreeUncertainty="{sigma**2}"/></uncertainty>'
    )


def spold(activity: Activity, system: list[Activity], extra_flow: tuple | None = None) -> str:
    by_key = {a.key: a for a in system}
    exchanges = [
        f'<intermediateExchange id="{uuid.uuid5(NAMESPACE, activity.key + "/out")}" unitId="{UNIT_IDS[activity.unit]}" '
        f'amount="1" intermediateExchangeId="{activity.product_id}" productionVolumeAmount="1000">'
        f'<name xml:lang="en">{activity.product}</name><unitName xml:lang="en">{activity.unit}</unitName>'
        f"<outputGroup>0</outputGroup></intermediateExchange>"
    ]
    for source, amount in activity.inputs.items():
        supplier = by_key[source]
        exchanges.append(
            f'<intermediateExchange id="{uuid.uuid5(NAMESPACE, activity.key + "/in/" + source)}" '
            f'unitId="{UNIT_IDS[supplier.unit]}" amount="{amount}" intermediateExchangeId="{supplier.product_id}" '
            f'activityLinkId="{supplier.id}"><name xml:lang="en">{supplier.product}</name>'
            f'<unitName xml:lang="en">{supplier.unit}</unitName>{_uncertainty(amount, activity.sigma)}'
            f"<inputGroup>5</inputGroup></intermediateExchange>"
        )
    emissions = [(FLOWS[flow][0], FLOWS[flow][1], amount) for flow, amount in activity.emissions.items()]
    if extra_flow:
        emissions.append(extra_flow)
    for flow_id, flow_name, amount in emissions:
        exchanges.append(
            f'<elementaryExchange id="{uuid.uuid5(NAMESPACE, activity.key + "/bio/" + flow_id)}" '
            f'unitId="{UNIT_IDS["kg"]}" amount="{amount}" elementaryExchangeId="{flow_id}">'
            f'<name xml:lang="en">{flow_name}</name><unitName xml:lang="en">kg</unitName>'
            f"{_uncertainty(amount, activity.sigma)}"
            f'<compartment subcompartmentId="7011f0aa-f5f9-4901-8c10-884ad8296812">'
            f'<compartment xml:lang="en">air</compartment><subcompartment xml:lang="en">unspecified</subcompartment>'
            f"</compartment><outputGroup>4</outputGroup></elementaryExchange>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ecoSpold xmlns="{ES2}"><childActivityDataset>'
        f'<activityDescription><activity id="{activity.id}" activityNameId="{uuid.uuid5(NAMESPACE, activity.name)}" '
        f'type="1" specialActivityType="0"><activityName xml:lang="en">{activity.name}</activityName></activity>'
        f'<geography geographyId="{uuid.uuid5(NAMESPACE, activity.location)}"><shortname xml:lang="en">'
        f"{activity.location}</shortname></geography>"
        f'<technology technologyLevel="3"/><timePeriod startDate="2020-01-01" endDate="2023-12-31" '
        f'isDataValidForEntirePeriod="true"/></activityDescription>'
        f"<flowData>{''.join(exchanges)}</flowData>"
        f'<administrativeInformation><dataEntryBy personId="{NAMESPACE}" personName="Test data" '
        f'personEmail="test@example.org"/><dataGeneratorAndPublication personId="{NAMESPACE}" '
        f'personName="Test data"/></administrativeInformation>'
        f"</childActivityDataset></ecoSpold>\n"
    )


def ecospold2_zip(path: Path, system: list[Activity] = SYSTEM, extra_flow: dict[str, tuple] | None = None) -> Path:
    """A zip like ecoinvent's release: `datasets/<activity id>_<product id>.spold`. `extra_flow` adds an elementary
    exchange (flow id, name, amount) to the activities named by key."""
    extra_flow = extra_flow or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for activity in system:
            archive.writestr(
                f"datasets/{activity.id}_{activity.product_id}.spold",
                spold(activity, system, extra_flow.get(activity.key)),
            )
    return path


# --- openLCA JSON-LD (olca-schema 2) -----------------------------------------------------------------------------------

JSONLD_UNITS = {"kWh": "energy", "MJ": "energy", "kg": "mass"}


def jsonld_zip(path: Path, system: list[Activity] = SYSTEM, extra_flow: dict[str, tuple] | None = None) -> Path:
    """An olca-schema 2 package (the project's factor-release writer's building blocks: openLCA's reference units
    and flow properties): one process per activity, its product flow, inputs linked by `defaultProvider`, and
    elementary flows by their ecoinvent UUIDs. A "t*km" product gets a unit group of its own."""
    from footprint_api.exports.factor_release import Package, _ref

    extra_flow = extra_flow or {}
    package = Package()
    units = {activity.key: package.unit(activity.unit) for activity in system}
    kilogram = package.unit("kg")
    products = {}
    for activity in system:
        products[activity.key] = package.flow(
            {
                "@type": "Flow",
                "@id": activity.product_id,
                "name": activity.product,
                "category": "Technosphere flows/test",
                "flowType": "PRODUCT_FLOW",
            },
            units[activity.key],
        )
    elementary = {}
    for flow_id, flow_name, _ in [*FLOWS.values(), *extra_flow.values()]:
        elementary[flow_id] = package.flow(
            {
                "@type": "Flow",
                "@id": flow_id,
                "name": flow_name,
                "category": "Elementary flows/Emission to air/unspecified",
                "flowType": "ELEMENTARY_FLOW",
            },
            kilogram,
        )
    locations = {}
    for activity in system:
        locations[activity.location] = package.add(
            "locations",
            {
                "@type": "Location",
                "@id": str(uuid.uuid5(NAMESPACE, "location/" + activity.location)),
                "name": activity.location,
                "code": activity.location,
            },
        )
    for activity in system:
        exchanges = [package.exchange(1, products[activity.key], 1.0, units[activity.key], False, True)]
        for source, amount in activity.inputs.items():
            exchange = package.exchange(len(exchanges) + 1, products[source], amount, units[source], True, False)
            supplier = next(a for a in system if a.key == source)
            exchange["defaultProvider"] = {"@type": "Process", "@id": supplier.id, "name": supplier.name}
            exchanges.append(exchange)
        emissions = [(FLOWS[flow][0], amount) for flow, amount in activity.emissions.items()]
        if activity.key in extra_flow:
            emissions.append((extra_flow[activity.key][0], extra_flow[activity.key][2]))
        for flow_id, amount in emissions:
            exchanges.append(package.exchange(len(exchanges) + 1, elementary[flow_id], amount, kilogram, False, False))
        package.add(
            "processes",
            {
                "@type": "Process",
                "@id": activity.id,
                "name": activity.name,
                "category": "test",
                "processType": "UNIT_PROCESS",
                "location": _ref("Location", locations[activity.location]),
                "lastInternalId": len(exchanges),
                "exchanges": exchanges,
            },
        )
    path.write_bytes(package.zipped())
    return path


# --- Brightway Excel and CSV ---------------------------------------------------------------------------------------

UNIT_NAMES = {"kg": "kilogram", "kWh": "kilowatt hour", "t*km": "ton kilometer", "MJ": "megajoule"}


def brightway_rows(database: str, system: list[Activity] = SYSTEM) -> list[list]:
    """Brightway's Excel/CSV layout (bw2io ExcelImporter): a Database row, then per activity its metadata and an
    Exchanges table; technosphere inputs named by name, reference product, location and unit (linked by bw2io's
    activity hash), biosphere exchanges by name, categories ("air") and unit."""
    rows: list[list] = [["Database", database], []]
    by_key = {a.key: a for a in system}
    for activity in system:
        unit = UNIT_NAMES[activity.unit]
        rows += [
            ["Activity", activity.name],
            ["reference product", activity.product],
            ["location", activity.location],
            ["unit", unit],
            ["code", activity.key],
            ["Exchanges"],
            ["name", "amount", "reference product", "location", "unit", "categories", "type", "database"],
            [activity.name, 1.0, activity.product, activity.location, unit, "", "production", database],
        ]
        for source, amount in activity.inputs.items():
            supplier = by_key[source]
            rows.append(
                [
                    supplier.name,
                    amount,
                    supplier.product,
                    supplier.location,
                    UNIT_NAMES[supplier.unit],
                    "",
                    "technosphere",
                    database,
                ]
            )
        for flow, amount in activity.emissions.items():
            rows.append([FLOWS[flow][1], amount, "", "", "kilogram", "air", "biosphere", "biosphere3"])
        rows.append([])
    return rows


def excel_file(path: Path, database: str = "test-db", system: list[Activity] = SYSTEM) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    for row in brightway_rows(database, system):
        sheet.append(row)
    book.save(path)
    return path


def csv_file(path: Path, database: str = "test-db", system: list[Activity] = SYSTEM) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in brightway_rows(database, system):
        writer.writerow(row)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


# --- bad archives --------------------------------------------------------------------------------------------------


def zip_slip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("datasets/ok.spold", "<ecoSpold/>")
        archive.writestr("../../escaped.spold", "<ecoSpold/>")
    return path


def zip_bomb(path: Path, megabytes: int = 64) -> Path:
    """One member of zeros: `megabytes` MiB compressing about a thousand times."""
    block = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("datasets/z.spold", "w") as member:
        for _ in range(megabytes):
            member.write(block)
    return path


def doctype_zip(path: Path) -> Path:
    """A .spold declaring entities (billion laughs): refused before it is parsed."""
    text = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        f'<ecoSpold xmlns="{ES2}">&lol2;</ecoSpold>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("datasets/a_b.spold", text)
    return path


def manifest(path: Path) -> dict:
    return json.loads(path.read_text())
