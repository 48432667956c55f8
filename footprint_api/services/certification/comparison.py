"""What changed between two inventory versions, numbers in the PCR's units, and against the inventory of the
label in force that issuing would supersede."""

from dataclasses import asdict, dataclass

from sqlmodel import Session, col, select

from footprint_api.persistence.models import Application, Footprint, InventoryRecord, Label, Submission
from footprint_api.services import labels
from pcr_rules import default_registry
from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR, ParameterSpec
from pcr_rules.units import UnitProblem, conversion_factor

HEADLINE = (
    "total_kg_co2e",
    "fossil_kg_co2e",
    "biogenic_kg_co2e",
    "land_use_kg_co2e",
    "location_based_kg_co2e",
    "market_based_kg_co2e",
)
# besides amount and parameters; `supplier`: the verified source of a purchased input (a label, PACT footprint, entry)
ITEM_FIELDS = ("data_source", "relative_sd", "supplier_pcf_kg_co2e_per_unit", "supplier", "note")
HANDLED = {"pcr", "production", "reference_period", "facility", "parameters", "items", "green_certificates"}


@dataclass(frozen=True)
class Change:
    """One input that differs between two versions. Numbers are in the PCR's unit (`unit`: an item's unit, a
    parameter's, the declared unit for the production), so that 120 GWh and 110,000,000 kWh compare as the same
    kind of thing; `*_stated` keeps what was entered, amount and unit, where that was another unit."""

    field: str  # a stable code: items.kiln_coal.amount, items.clinker.parameters.cao_fraction, production, …
    kind: str  # item | item_parameter | item_field | parameter | production | period | facility | certificate | other
    before: float | str | None
    after: float | str | None
    unit: str = ""
    item: str = ""
    name: str = ""  # the parameter's or the field's id
    before_stated: tuple[float, str] | None = None
    after_stated: tuple[float, str] | None = None

    @property
    def change_percent(self) -> float | None:
        """(after − before) / before × 100 for two numbers, before not zero."""
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.before, self.after))
        return (self.after - self.before) / self.before * 100 if numbers and self.before else None


def _same(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return a == b


def _in_unit(quantity: dict | None, unit: str | None) -> tuple[float | str | None, tuple[float, str] | None, str]:
    """(value in `unit`, (amount, unit) as entered if that was another unit, the unit of the value)."""
    if not isinstance(quantity, dict):
        return None, None, unit or ""
    if "choice" in quantity:
        return str(quantity["choice"]), None, ""
    amount, given = quantity.get("amount"), str(quantity.get("unit") or "")
    if not isinstance(amount, int | float) or not unit or given == unit:
        return amount, None, given
    try:
        return amount * conversion_factor(given, unit), (amount, given), unit
    except UnitProblem:
        return amount, None, given  # not convertible: the PCR checks say so; compared as entered


def _quantity_change(field_: str, kind: str, a: dict | None, b: dict | None, unit: str | None, **more) -> list[Change]:
    """The change of one quantity (or choice), each side in `unit` where it converts; sides in two units that do
    not convert into each other are shown as entered."""
    before, before_stated, unit_a = _in_unit(a, unit)
    after, after_stated, unit_b = _in_unit(b, unit)
    if _same(before, after) and unit_a == unit_b:
        return []
    if unit_a == unit_b or b is None:
        shown = unit_a
    elif a is None:
        shown = unit_b
    else:
        shown = ""
        before_stated, after_stated = before_stated or (before, unit_a), after_stated or (after, unit_b)
    return [Change(field_, kind, before, after, shown, before_stated=before_stated, after_stated=after_stated, **more)]


def _parameter_changes(prefix: str, kind: str, a: dict, b: dict, specs: list[ParameterSpec], item: str = "") -> list:
    by_id = {spec.id: spec for spec in specs}
    changes = []
    for name in [*a, *(n for n in b if n not in a)]:
        spec = by_id.get(name)
        unit = None if spec is None or spec.is_choice else spec.unit
        changes += _quantity_change(f"{prefix}.{name}", kind, a.get(name), b.get(name), unit, item=item, name=name)
    return changes


def _by_item(data: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for entry in data.get("items", []):
        if isinstance(entry, dict):
            found.setdefault(str(entry.get("item")), entry)
    return found


def _item_changes(a: dict, b: dict, pcr: PCR | None) -> list[Change]:
    old, new = _by_item(a), _by_item(b)
    order = [i.id for i in pcr.items] if pcr else []
    ids = [i for i in order if i in old or i in new] + [i for i in [*old, *new] if i not in order]
    changes: list[Change] = []
    for item in dict.fromkeys(ids):
        spec = pcr.item(item) if pcr else None
        before, after = old.get(item) or {}, new.get(item) or {}
        changes += _quantity_change(
            f"items.{item}.amount",
            "item",
            before or None,
            after or None,
            spec.unit if spec else None,
            item=item,
        )
        changes += _parameter_changes(
            f"items.{item}.parameters",
            "item_parameter",
            before.get("parameters") or {},
            after.get("parameters") or {},
            spec.parameters if spec else [],
            item,
        )
        changes += [
            Change(f"items.{item}.{name}", "item_field", before.get(name), after.get(name), item=item, name=name)
            for name in (*ITEM_FIELDS, "data_quality")
            if before and after and not _same(before.get(name), after.get(name))
        ]
    return changes


def _period(data: dict) -> str | None:
    period = data.get("reference_period") or {}
    return f"{period.get('start')} – {period.get('end')}" if period else None


def _batches(data: dict) -> dict[str, int]:
    """{'first serial … last serial' (or the first serial): MWh drawn} of an inventory's certificate batches."""
    found: dict[str, int] = {}
    for c in data.get("green_certificates", []):
        if isinstance(c, dict):
            batch = f"{c.get('serial')} … {c['serial_last']}" if c.get("serial_last") else str(c.get("serial"))
            found[batch] = found.get(batch, 0) + (c.get("amount_mwh") or 0)
    return found


def _certificate_changes(a: dict, b: dict) -> list[Change]:
    """Each batch drawn in one version and not the other, or drawn for another amount (MWh)."""
    old, new = _batches(a), _batches(b)
    return [
        Change(f"green_certificates.{batch}", "certificate", old.get(batch), new.get(batch), "MWh", name=batch)
        for batch in [*old, *(x for x in new if x not in old)]
        if old.get(batch) != new.get(batch)
    ]


def _leaves(value, path: str = "") -> dict[str, object]:
    """{'captive_power.units[0].fuel_amount': 52000, …}: the values of the rest of an inventory by their paths."""
    if isinstance(value, dict):
        return {
            k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}" if path else str(key)).items()
        }
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def inventory_changes(a: dict, b: dict, pcr: PCR | None) -> list[Change]:
    """Every input that differs from version `a` to version `b` of an inventory, numbers in the PCR's units: the
    production (in the declared unit), the period, the facility, the product system's parameters, each item (by its
    PCR id, in the PCR's order) with its parameters, the certificates, then any other value by its path."""
    declared = pcr.declared_unit.unit if pcr else None
    changes = _quantity_change("production", "production", a.get("production"), b.get("production"), declared)
    if _period(a) != _period(b):
        changes.append(Change("reference_period", "period", _period(a), _period(b)))
    for name in ("name", "province", "grid_region"):
        before, after = (a.get("facility") or {}).get(name), (b.get("facility") or {}).get(name)
        if before != after:
            changes.append(Change(f"facility.{name}", "facility", before, after, name=name))
    changes += _parameter_changes(
        "parameters", "parameter", a.get("parameters") or {}, b.get("parameters") or {}, pcr.parameters if pcr else []
    )
    changes += _item_changes(a, b, pcr)
    changes += _certificate_changes(a, b)
    rest_a = _leaves({k: v for k, v in a.items() if k not in HANDLED})
    rest_b = _leaves({k: v for k, v in b.items() if k not in HANDLED})
    changes += [
        Change(path, "other", rest_a.get(path), rest_b.get(path))
        for path in sorted(rest_a.keys() | rest_b.keys())
        if not _same(rest_a.get(path), rest_b.get(path))
    ]
    return changes


def _contributions_by_item(result: dict) -> dict[str, float]:
    totals: dict[str, float] = {}
    for contribution in result.get("contributions", []):
        totals[contribution["item"]] = totals.get(contribution["item"], 0.0) + contribution["kg_co2e"]
    return totals


def version_diff(
    before_record: InventoryRecord, before: Footprint, after_record: InventoryRecord, after: Footprint
) -> dict:
    """The inputs (in the PCR's units) and results that changed between two versions (only what differs)."""
    try:
        pcr = default_registry().get(after_record.pcr_id, after_record.pcr_version)
    except PCRNotFound:
        pcr = None
    changes = inventory_changes(before_record.data, after_record.data, pcr)
    results = [
        {"field": key, "before": before.result.get(key), "after": after.result.get(key)}
        for key in HEADLINE
        if before.result.get(key) != after.result.get(key)
    ]
    old_items, new_items = _contributions_by_item(before.result), _contributions_by_item(after.result)
    contributions = [
        {"field": item, "before": old_items.get(item), "after": new_items.get(item)}
        for item in sorted(old_items.keys() | new_items.keys())
        if old_items.get(item) != new_items.get(item)
    ]
    return {
        "before": {"footprint_id": before.id, "inventory_version": before_record.version},
        "after": {"footprint_id": after.id, "inventory_version": after_record.version},
        "inputs": [{**asdict(c), "change_percent": c.change_percent} for c in changes],
        "results": results,
        "contributions": contributions,
    }


# --- against the label in force that issuing would supersede --------------------------------------------------------


def label_in_force(session: Session, application: Application) -> Label | None:
    """The product's label in force under the application's PCR, issued for another application: issuing this
    application's label supersedes it (one label in force per product and PCR)."""
    footprint = session.get(Footprint, application.footprint_id)
    return session.exec(
        select(Label)
        .where(
            Label.product_id == application.product_id,
            Label.pcr_id == footprint.pcr_id,
            col(Label.state).in_(labels.IN_FORCE),
            Label.application_id != application.id,
        )
        .order_by(col(Label.issued_on).desc(), col(Label.sequence).desc())
    ).first()


def in_force_diff(
    session: Session, application: Application, record: InventoryRecord, footprint: Footprint
) -> dict | None:
    """The label in force that issuing would supersede, and what changed since the inventory it certified. The
    changes are shown to this body only if that inventory was submitted to it (another body's file stays with
    that body); the label's number and value are public anyway."""
    label = label_in_force(session, application)
    if label is None:
        return None
    certified = session.get(Footprint, label.footprint_id)
    certified_record = session.get(InventoryRecord, certified.inventory_id)
    shared = (
        session.exec(
            select(Submission).where(
                Submission.footprint_id == certified.id,
                Submission.certification_body_id == application.certification_body_id,
            )
        ).first()
        is not None
    )
    return {
        "label": label.number,
        "state": label.state,
        "value": label.value,
        "declared_unit": label.declared_unit,
        "issued_on": label.issued_on,
        "inventory_version": certified_record.version,
        "footprint_id": certified.id,
        "diff": version_diff(certified_record, certified, record, footprint) if shared else None,
    }
