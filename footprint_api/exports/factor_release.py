"""The files of a factor-database release: JSON (canonical: its SHA-256 is the release's digest), CSV (UTF-8 with
BOM, every heading in Chinese and English) and openLCA JSON-LD (olca-schema 2, a zip package).

The JSON file
-------------
One object, keys sorted, no spaces, UTF-8 (`canonical`):

- `format`: "pcf-factor-database", `format_version`: 1.
- `release`: `number` ("2026.1"), `title`, `title_zh`, `notes`, `cut_on` (the day, China time, whose labels in
  force it holds), `cut_at` (UTC), `previous` (the release before it, or null), `entry_count`, `label_count`,
  `min_organisations` (the disclosure rule: services.factor_database).
- `entries`, in key order, each:
  `key` (stable across releases), `citation` (how a footprint cites it), `pcr_id`, `pcr_major`, `pcr_versions`,
  `product_category` with `product_category_name` / `_name_zh`, `product_class` (the codes, "" where the PCR has
  no classification) with `product_class_name` / `_name_zh`, `declared_unit` ("1 t"), `reference_year`, `province`
  (the factor set's name; null for the national entry) with `province_name` / `_name_zh`, `value_kg_co2e` (mean
  per declared unit), `min_kg_co2e`, `max_kg_co2e`, `sd_kg_co2e` (sample SD, null for one label), `gases` (gas ->
  `mass_kg`, `kg_co2e` per declared unit, the gas names of the footprints' `per_gas`; a gas that shown apart would
  give fewer than three organisations' amounts is counted by its CO2e within "CO2e not resolved by gas"), `dqr`
  (mean data-quality rating, 1 best .. 5 worst; null where it would give fewer than three organisations' ratings),
  `label_count`, `organisation_count`, `named_manufacturer` and `sources` (the label numbers) where every
  manufacturer behind the entry consented to be named, else null and [].
- `changes` since the previous release: `previous`, `added` and `removed` ({key, value}), `changed` ({key, old, new,
  change_percent}), `unchanged` (a count).

The openLCA package (why per-gas elementary flows)
--------------------------------------------------
One process per entry, of type LCI_RESULT (an aggregated cradle-to-gate result, not a unit process): its
quantitative reference is the output of 1 declared unit of a product flow that is the product class (one flow per
PCR, major version, class and declared unit, shared by every province, year and release), and its other exchanges
are elementary flows, one per gas, with the entry's mean mass per declared unit. Per-gas flows keep the result
open to any method: characterised with IPCC 2021 GWP100 (the footprints' own method) they give the entry's value,
and another method (GWP20, AR5) can be applied. The elementary flows carry the UUIDs of the ecoinvent elementary
exchanges that Brightway's biosphere3 and ecoinvent-based openLCA databases use, so they link to those. A footprint
factor published only in CO2e ("CO2e not resolved by gas") enters as fossil CO2 to air, low population density,
long-term, as the calculation engine itself models it (lca_models.flows): GWP 1 in IPCC 2021, kept apart from the
fossil CO2 that was resolved by gas. Units and flow properties are openLCA's reference ones (Mass, Energy; kg, t,
MJ, kWh; Volume, Area, Number of items), so the package merges with an openLCA database's reference data: a declared
unit openLCA names otherwise is written as openLCA's unit of the same size ('1 tonne' -> 1 t) or in the reference
unit ('1 lb' -> 0.4536 kg), never losing its amount (1 t is 1000 kg to an importer, never 1 kg); a declared unit of
no kind openLCA knows gets a unit group of its own. Every id is stable across releases: a flow, unit or location is
the same entity in every package, and an entry's process keeps its id from release to release with the release
number as its `version` and `lastChange` as the cut, as openLCA and ecoinvent version a dataset (importing a later
release into an openLCA database updates the process; a Brightway import names its database per release). Locations
are China and its provinces.
"""

import io
import json
import math
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from footprint_api.exports import cells
from footprint_api.persistence.models import FactorEntry, FactorRelease
from lca_models.flows import FLOWS
from lca_models.summary import OTHER_GASES_LABEL
from pcr_rules import units

FORMAT = "pcf-factor-database"
FORMAT_VERSION = 1
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pcf-service:factor-database")  # of the package's own ids
FILE_NAMES = {
    "csv": "pcf-factors-{number}.csv",
    "json": "pcf-factors-{number}.json",
    "jsonld": "pcf-factors-{number}-olca.zip",
}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "jsonld": "application/zip"}


@dataclass(frozen=True)
class EntryNames:
    """An entry's category, product class and province by name, in English and Chinese."""

    category: str
    category_zh: str
    product_class: str
    product_class_zh: str
    province: str
    province_zh: str


NamesOf = Callable[[FactorEntry], EntryNames]


def file_name(number: str, name: str) -> str:
    return FILE_NAMES[name].format(number=number)


def citation(number: str, key: str) -> str:
    return f"PCF factor database release {number}, entry {key}"


def canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def render(
    release: FactorRelease,
    cut_on: date,
    entries: list[FactorEntry],
    changes: dict,
    names_of: NamesOf,
    min_organisations: int,
) -> dict[str, bytes]:
    """The three files of a release: {"json", "csv", "jsonld"} -> bytes (the same release gives the same bytes).
    `min_organisations`: the disclosure rule the entries were made under, stated in the JSON."""
    named = [(entry, names_of(entry)) for entry in sorted(entries, key=lambda e: e.key)]
    document = release_document(release, cut_on, named, changes, min_organisations)
    return {
        "json": canonical(document),
        "csv": csv_file(release.number, named),
        "jsonld": json_ld_package(document, named),
    }


# --- JSON --------------------------------------------------------------------------------------------------------------


def release_fields(release: FactorRelease, cut_on: date, previous: str | None, min_organisations: int) -> dict:
    return {
        "number": release.number,
        "title": release.title,
        "title_zh": release.title_zh,
        "notes": release.notes,
        "cut_on": cut_on.isoformat(),
        "cut_at": release.cut_at.isoformat(),
        "previous": previous,
        "entry_count": release.entry_count,
        "label_count": release.label_count,
        "min_organisations": min_organisations,
    }


def entry_document(number: str, entry: FactorEntry, names: EntryNames) -> dict:
    """An entry as the JSON file and the JSON API give it (the fields of the module's docstring)."""
    return {
        "key": entry.key,
        "citation": citation(number, entry.key),
        "pcr_id": entry.pcr_id,
        "pcr_major": entry.pcr_major,
        "pcr_versions": list(entry.pcr_versions),
        "product_category": entry.product_category,
        "product_category_name": names.category,
        "product_category_name_zh": names.category_zh,
        "product_class": entry.product_class,
        "product_class_name": names.product_class,
        "product_class_name_zh": names.product_class_zh,
        "declared_unit": entry.declared_unit,
        "reference_year": entry.reference_year,
        "province": entry.province,
        "province_name": names.province,
        "province_name_zh": names.province_zh,
        "value_kg_co2e": entry.value,
        "min_kg_co2e": entry.value_min,
        "max_kg_co2e": entry.value_max,
        "sd_kg_co2e": entry.value_sd,
        "gases": {gas: dict(amounts) for gas, amounts in sorted(entry.gases.items())},
        "dqr": entry.dqr,
        "label_count": entry.label_count,
        "organisation_count": entry.organisation_count,
        "named_manufacturer": entry.named_manufacturer,
        # the entry keeps every label behind it (the disclosure rule of later releases reads them); only an entry
        # whose manufacturers all consented to be named lists them
        "sources": list(entry.sources) if entry.named_manufacturer else [],
    }


def release_document(
    release: FactorRelease,
    cut_on: date,
    named: list[tuple[FactorEntry, EntryNames]],
    changes: dict,
    min_organisations: int,
) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "release": release_fields(release, cut_on, changes.get("previous"), min_organisations),
        "entries": [entry_document(release.number, entry, names) for entry, names in named],
        "changes": changes,
    }


# --- CSV ---------------------------------------------------------------------------------------------------------------

COLUMNS = (
    ("条目键", "key"),
    ("引用", "citation"),
    ("PCR 编号", "pcr_id"),
    ("PCR 主版本", "pcr_major"),
    ("PCR 版本", "pcr_versions"),
    ("产品类别", "product_category"),
    ("产品类别名称", "product_category_name_zh"),
    ("产品分类", "product_class"),
    ("产品分类名称", "product_class_name_zh"),
    ("声明单位", "declared_unit"),
    ("基准年", "reference_year"),
    ("省份", "province"),
    ("省份名称", "province_name_zh"),
    ("平均值 kg CO2e/声明单位", "value_kg_co2e"),
    ("最小值 kg CO2e", "min_kg_co2e"),
    ("最大值 kg CO2e", "max_kg_co2e"),
    ("标准差 kg CO2e", "sd_kg_co2e"),
    ("数据质量评级", "dqr"),
    ("标签数", "label_count"),
    ("企业数", "organisation_count"),
    ("署名企业", "named_manufacturer"),
    ("来源标签", "sources"),
)
GAS_ORDER = [flow.label for flow in FLOWS.values()]


def _gases(named: list[tuple[FactorEntry, EntryNames]]) -> list[str]:
    present = {gas for entry, _ in named for gas in entry.gases}
    return [gas for gas in GAS_ORDER if gas in present] + sorted(present - set(GAS_ORDER))


def csv_file(number: str, named: list[tuple[FactorEntry, EntryNames]]) -> bytes:
    """One row per entry; headings '中文 / english' (the English one is the JSON field's name), a mass and a CO2e
    column per gas; text cells that a spreadsheet would read as a formula neutralised (exports.cells)."""
    gases = _gases(named)
    headers = [f"{zh} / {en}" for zh, en in COLUMNS]
    for gas in gases:
        headers += [f"{gas} 质量 kg / {gas} mass_kg", f"{gas} kg CO2e / {gas} kg_co2e"]
    rows = []
    for entry, names in named:
        fields = entry_document(number, entry, names)
        fields["pcr_versions"] = " ".join(fields["pcr_versions"])
        fields["sources"] = " ".join(fields["sources"])
        fields["province"] = fields["province"] or "national"
        row = [fields[en] for _, en in COLUMNS]
        for gas in gases:
            amounts = entry.gases.get(gas) or {}
            row += [amounts.get("mass_kg", 0.0), amounts.get("kg_co2e", 0.0)]
        rows.append(row)
    return cells.csv_bytes(headers, rows, bom=True)


# --- openLCA JSON-LD (olca-schema 2) -------------------------------------------------------------------------------------

# openLCA's reference flow properties, unit groups and units (the ids of olca-schema's own examples and of openLCA's
# reference data): amounts of a kind of quantity, in a unit, with its factor to the group's reference unit
QUANTITIES = {
    "mass": {
        "property": ("93a60a56-a3c8-11da-a746-0800200b9a66", "Mass"),
        "group": ("93a60a57-a4c8-11da-a746-0800200c9a66", "Units of mass"),
        "units": {
            "kg": ("20aadc24-a391-41cf-b340-3e4529f44bde", 1.0),
            "t": ("83192ffa-5990-490b-a23a-b45ca072db6f", 1000.0),
            "g": ("e1317ffc-7f83-4a85-bc65-4fb229a25cf8", 0.001),
        },
    },
    "energy": {
        "property": ("f6811440-ee37-11de-8a39-0800200c9a66", "Energy"),
        "group": ("93a60a57-a3c8-11da-a746-0800200c9a66", "Units of energy"),
        "units": {
            "MJ": ("52765a6c-3896-43c2-b2f4-c679acf13efe", 1.0),
            "kWh": ("86ad2244-1f0e-4912-af53-7865283103e4", 3.6),
            "MWh": ("92e3bd49-8ed5-4885-9db6-fc88c7afcfcb", 3600.0),
            "GJ": ("01e58eb9-0aba-4c76-ba0c-03f6f3be1353", 1000.0),
        },
    },
    "volume": {
        "property": ("93a60a56-a3c8-22da-a746-0800200c9a66", "Volume"),
        "group": ("93a60a57-a3c8-12da-a746-0800200c9a66", "Units of volume"),
        "units": {
            "m3": ("1c3a9695-398d-4b1f-b07e-a8715b610f70", 1.0),
            "l": ("b80a512e-e402-4363-8ad0-7d02dcf4a459", 0.001),
        },
    },
    "area": {
        "property": ("93a60a56-a3c8-19da-a746-0800200c9a66", "Area"),
        "group": ("93a60a57-a3c8-18da-a746-0800200c9a66", "Units of area"),
        "units": {"m2": ("3ce61faa-5716-41c1-aef6-b5920054acc9", 1.0)},
    },
    "items": {
        "property": ("01846770-4cfe-4a25-8ad9-919d8d378345", "Number of items"),
        "group": ("5beb6eed-33a9-47b8-9ede-1dfe8f679159", "Units of items"),
        "units": {"Item(s)": ("6dabe201-aaac-4509-92f0-d00c26cb72ab", 1.0)},
    },
}
# how pint writes the reference unit of a kind (pcr_rules.units), and the names a declared unit may give to items
PINT_REFERENCE = {"mass": "kg", "energy": "MJ", "volume": "m^3", "area": "m^2"}
ITEMS = {"item", "items", "piece", "pieces", "pc", "pcs", "unit", "units", "件", "个", "块", "片"}
# the elementary flows by the engine's gas names (lca_models.flows): the ecoinvent elementary-exchange UUID that
# Brightway's biosphere3 gives the same flow (name and compartment; tests/test_factor_database.py checks each), the
# openLCA category path, the CAS number, and whether it is taken from nature (an input) rather than emitted
ELEMENTARY = {
    "co2_fossil": ("349b29d1-3e58-4c66-98b9-9d1a076efd2e", "Emission to air/unspecified", "124-38-9", False),
    "co2e_as_co2_fossil": (
        "e259263c-d1f1-449f-bb9b-73c6d0a32a00",
        "Emission to air/low population density, long-term",
        "124-38-9",
        False,
    ),
    "co2_biogenic": ("eba59fd6-f37e-41dc-9ca3-c7ea22d602c7", "Emission to air/unspecified", "124-38-9", False),
    "co2_uptake": ("cc6a1abb-b123-4ca6-8f16-38209df609be", "Resource/in air", "124-38-9", True),
    "co2_land_use": ("e4e9febc-07c1-403d-8d3a-6707bb4d96e6", "Emission to air/unspecified", "124-38-9", False),
    "ch4_fossil": ("0795345f-c7ae-410c-ad25-1845784c75f5", "Emission to air/unspecified", "74-82-8", False),
    "ch4_biogenic": ("da1157e2-7593-4dfd-80dd-a3449b37a4d8", "Emission to air/unspecified", "74-82-8", False),
    "n2o": ("20185046-64bb-4c09-a8e7-e8a9e144ca98", "Emission to air/unspecified", "10024-97-2", False),
    "cf4": ("33681770-a0e1-4ce8-93c3-941fd607fa5f", "Emission to air/unspecified", "75-73-0", False),
    "c2f6": ("acc39720-dda7-4b3a-80c7-c6394cad4191", "Emission to air/unspecified", "76-16-4", False),
    "sf6": ("35d1dff5-b535-4628-9826-4a8fce08a1f2", "Emission to air/unspecified", "2551-62-4", False),
}
FLOW_OF_GAS = {flow.label: key for key, flow in FLOWS.items()}
# an imported database's other characterised flows are given in kg CO2e, as a value published only in CO2e is
FLOW_OF_GAS[OTHER_GASES_LABEL] = "co2e_as_co2_fossil"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # every member's time: the same release gives the same bytes


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


def _ref(kind: str, entity: dict, **extra) -> dict:
    return {"@type": kind, "@id": entity["@id"], "name": entity["name"], **extra}


@dataclass(frozen=True)
class Unit:
    """A declared unit as openLCA reads it: its unit, and the flow property and unit group it belongs to."""

    name: str
    unit_id: str
    quantity: str


def declared_unit(text: str) -> tuple[float, str]:
    """'1 t' -> (1.0, 't'); '1000 kg' -> (1000.0, 'kg')."""
    amount, _, unit = text.strip().partition(" ")
    try:
        return float(amount), unit.strip() or "unit"
    except ValueError:
        return 1.0, text.strip()


class Package:
    """The entities of one package, each once by id, written to a zip in the olca-schema 2 folders."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, dict]] = {}
        self.quantities = dict(QUANTITIES)  # and the declared units of other kinds met in this package

    def add(self, folder: str, entity: dict) -> dict:
        return self.folders.setdefault(folder, {}).setdefault(entity["@id"], entity)

    def declared(self, text: str) -> tuple[float, Unit]:
        """A declared unit as the amount and unit of the process's output, in openLCA's reference data where the
        unit is of a kind openLCA knows: '1 t' -> (1, t of Mass), '1 tonne' -> (1, t), '1 lb' -> (0.4536, kg),
        '1 kWh' -> (1, kWh of Energy), '1 m3' -> (1, m3 of Volume), '1 piece' -> (1, Item(s)); a unit of no known
        kind gets a unit group of its own. The amount is never dropped: 1 t stays 1000 kg, never 1 kg."""
        amount, name = declared_unit(text)
        if name.lower() in ITEMS:
            return amount, self.unit("Item(s)")
        if any(name in spec["units"] for spec in self.quantities.values()):
            return amount, self.unit(name)
        for quantity, reference in PINT_REFERENCE.items():
            try:
                factor = units.conversion_factor(name, reference)
            except units.UnitProblem:
                continue
            same = next(
                (known for known, (_, f) in QUANTITIES[quantity]["units"].items() if math.isclose(f, factor)), None
            )
            if same is not None:
                return amount, self.unit(same)
            base = next(known for known, (_, f) in QUANTITIES[quantity]["units"].items() if f == 1.0)
            return amount * factor, self.unit(base)
        return amount, self.unit(name)

    def unit(self, name: str) -> Unit:
        """The unit of this name: openLCA's where it has one (Mass, Energy, Volume, Area, Items), else a group of its
        own."""
        quantity = next((q for q, spec in self.quantities.items() if name in spec["units"]), None)
        if quantity is None:
            quantity = f"own:{name}"
            self.quantities[quantity] = {
                "property": (_id("flow property", name), f"Amount in {name}"),
                "group": (_id("unit group", name), f"Units of {name}"),
                "units": {name: (_id("unit", name), 1.0)},
            }
        spec = self.quantities[quantity]
        group_id, group_name = spec["group"]
        property_id, property_name = spec["property"]
        reference = next(unit for unit, (_, factor) in spec["units"].items() if factor == 1.0)
        self.add(
            "unit_groups",
            {
                "@type": "UnitGroup",
                "@id": group_id,
                "name": group_name,
                "category": "Technical unit groups",
                "defaultFlowProperty": {"@type": "FlowProperty", "@id": property_id, "name": property_name},
                "units": [
                    {
                        "@type": "Unit",
                        "@id": unit_id,
                        "name": unit,
                        "conversionFactor": factor,
                        **({"isRefUnit": True} if unit == reference else {}),
                    }
                    for unit, (unit_id, factor) in spec["units"].items()
                ],
            },
        )
        self.add(
            "flow_properties",
            {
                "@type": "FlowProperty",
                "@id": property_id,
                "name": property_name,
                "category": "Technical flow properties",
                "flowPropertyType": "PHYSICAL_QUANTITY",
                "unitGroup": {"@type": "UnitGroup", "@id": group_id, "name": group_name},
            },
        )
        return Unit(name, spec["units"][name][0], quantity)

    def reference_unit(self, unit: Unit) -> str:
        return next(name for name, (_, factor) in self.quantities[unit.quantity]["units"].items() if factor == 1.0)

    def property_ref(self, unit: Unit) -> dict:
        property_id, property_name = self.quantities[unit.quantity]["property"]
        return {"@type": "FlowProperty", "@id": property_id, "name": property_name}

    def flow(self, flow: dict, unit: Unit) -> dict:
        flow["flowProperties"] = [
            {
                "@type": "FlowPropertyFactor",
                "isRefFlowProperty": True,
                "conversionFactor": 1.0,
                "flowProperty": self.property_ref(unit),
            }
        ]
        return self.add("flows", flow)

    def exchange(self, internal_id: int, flow: dict, amount: float, unit: Unit, is_input: bool, reference: bool):
        return {
            "@type": "Exchange",
            "internalId": internal_id,
            "amount": amount,
            "isInput": is_input,
            "isAvoidedProduct": False,
            "isQuantitativeReference": reference,
            "flow": _ref("Flow", flow, flowType=flow["flowType"], refUnit=self.reference_unit(unit)),
            "unit": {"@type": "Unit", "@id": unit.unit_id, "name": unit.name},
            "flowProperty": self.property_ref(unit),
        }

    def zipped(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            _write(archive, "olca-schema.json", {"version": 2})
            for folder in sorted(self.folders):
                for entity_id in sorted(self.folders[folder]):
                    _write(archive, f"{folder}/{entity_id}.json", self.folders[folder][entity_id])
        return buffer.getvalue()


def _write(archive: zipfile.ZipFile, name: str, content: dict) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True))


def _location(package: Package, entry: FactorEntry, names: EntryNames) -> dict:
    if entry.province is None:
        location = {"@type": "Location", "@id": _id("location", "CN"), "name": "China", "code": "CN"}
    else:
        location = {
            "@type": "Location",
            "@id": _id("location", "CN", entry.province),
            "name": f"{names.province}, China",
            "code": f"CN-{names.province}",
            "description": f"{names.province_zh}（{names.province}）",
        }
    return package.add("locations", location)


def _product(package: Package, entry: FactorEntry, names: EntryNames, unit: Unit) -> dict:
    """The product flow of the entry's product class: one per PCR, major version, class and declared unit."""
    category = names.category[:1].upper() + names.category[1:]
    kind = category if not entry.product_class else f"{category}, {names.product_class}"
    kind_zh = names.category_zh if not entry.product_class else f"{names.category_zh}，{names.product_class_zh}"
    flow = {
        "@type": "Flow",
        "@id": _id("product", entry.pcr_id, entry.pcr_major, entry.product_class, entry.declared_unit),
        "name": f"{kind} ({entry.pcr_id} v{entry.pcr_major})",
        "description": f"{kind_zh}。声明单位 {entry.declared_unit}。Declared unit {entry.declared_unit}.",
        "synonyms": kind_zh,
        "category": f"PCF factor database/{names.category}",
        "flowType": "PRODUCT_FLOW",
    }
    return package.flow(flow, unit)


def _elementary(package: Package, gas: str) -> tuple[dict, bool]:
    key = FLOW_OF_GAS.get(gas)
    if key is None:
        raise ValueError(f"no elementary flow for gas {gas!r}")
    flow_id, category, cas, taken = ELEMENTARY[key]
    flow = {
        "@type": "Flow",
        "@id": flow_id,
        "name": FLOWS[key].name,
        "category": f"Elementary flows/{category}",
        "cas": cas,
        "flowType": "ELEMENTARY_FLOW",
    }
    return package.flow(flow, package.unit("kg")), taken


def _process(package: Package, release: dict, entry: FactorEntry, names: EntryNames) -> dict:
    amount, unit = package.declared(entry.declared_unit)
    product = _product(package, entry, names, unit)
    location = _location(package, entry, names)
    kilogram = package.unit("kg")
    exchanges = [package.exchange(1, product, amount, unit, False, True)]
    for gas, amounts in sorted(entry.gases.items()):
        flow, taken = _elementary(package, gas)
        exchanges.append(package.exchange(len(exchanges) + 1, flow, amounts["mass_kg"], kilogram, taken, False))
    number, place = release["number"], names.province if entry.province else "China"
    described = (
        f"{entry.value:.6g} kg CO2e per {entry.declared_unit} (IPCC 2021 GWP100): mean of {entry.label_count} "
        f"certified carbon labels of {entry.organisation_count} organisations, PCR {entry.pcr_id} "
        f"{', '.join(entry.pcr_versions)}, reference year {entry.reference_year}, {place}. "
        f"Min {entry.value_min:.6g}, max {entry.value_max:.6g}. {citation(number, entry.key)}."
    )
    return package.add(
        "processes",
        {
            "@type": "Process",
            "@id": _id("process", entry.key),  # the same in every release; `version` tells them apart
            "name": f"{product['name']} | {place} {entry.reference_year} | PCF factor database {number}",
            "description": described,
            "category": f"PCF factor database/{number}/{names.category}",
            "version": number,
            "lastChange": release["cut_at"],
            "processType": "LCI_RESULT",
            "location": _ref("Location", location),
            "lastInternalId": len(exchanges),
            "exchanges": exchanges,
            "processDocumentation": {
                "creationDate": release["cut_at"],
                "validFrom": f"{entry.reference_year}-01-01",
                "validUntil": f"{entry.reference_year}-12-31",
                "timeDescription": f"基准年 {entry.reference_year} / reference year {entry.reference_year}",
                "geographyDescription": f"{names.province_zh} / {place}",
                "technologyDescription": f"{names.product_class_zh} / {names.product_class}",
                "dataTreatmentDescription": described,
                "useAdvice": citation(number, entry.key),
            },
        },
    )


def json_ld_package(document: Mapping, named: list[tuple[FactorEntry, EntryNames]]) -> bytes:
    """The release as an olca-schema 2 zip: processes, flows, flow properties, unit groups, locations."""
    package = Package()
    for entry, names in named:
        _process(package, document["release"], entry, names)
    return package.zipped()
