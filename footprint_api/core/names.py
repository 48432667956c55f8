"""Names of the product data in the reader's language: result codes (stages, parts, methods) from the message
catalogues (locales/*/codes.yaml), PCR items, parameters and declared units from the PCR data's Chinese names."""

from footprint_api.core import messages
from pcr_rules.errors import PCRNotFound
from pcr_rules.registry import default_registry

CODE_GROUPS = ("stage", "part", "method")
# rows of a result that are not PCR items: the plant's own generating units (lca_models.foreground.CAPTIVE)
SERVICE_ITEMS_ZH = {"captive_power": "自备电厂"}  # codes of results, named in locales/*/codes.yaml for every part


def term(t: messages.Catalogue, group: str, key: str) -> str:
    """A field value's name in the reader's language where there is one (stages, gases, parts), else the value."""
    return t.messages.get(f"{'code' if group in CODE_GROUPS else 'mfr'}.{group}.{key}", key)


def pcr_names(pcr_ref: dict, lang: str) -> dict:
    """The Chinese names of a result's PCR items (by item id), their parameters (by 'item.parameter') and declared
    unit, for a Chinese page; empty for an English page (it prints the codes and the result's own declared-unit
    description) or an unknown PCR."""
    names = {"item": {}, "parameter": {}, "declared_unit": None}
    if lang != "zh":
        return names
    try:
        pcr = default_registry().get(pcr_ref["id"], pcr_ref["version"])
    except (PCRNotFound, KeyError):
        return names
    return {
        "item": {**SERVICE_ITEMS_ZH, **{item.id: item.label_zh for item in pcr.items if item.label_zh}},
        "parameter": {f"{item.id}.{p.id}": p.label_zh for item in pcr.items for p in item.parameters if p.label_zh},
        "declared_unit": pcr.declared_unit.description_zh,
    }
