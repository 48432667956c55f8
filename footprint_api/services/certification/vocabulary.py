"""The names of a PCR's items, parameters and choices in the reader's language."""

from dataclasses import dataclass, field

from pcr_rules import default_registry
from pcr_rules.errors import PCRNotFound


@dataclass(frozen=True)
class Vocabulary:
    """A PCR's names in one language: items by id, parameters by 'item.parameter' (the PCR's own parameters by
    'parameter'), choices by 'item.parameter.choice' (or 'parameter.choice'), and the declared unit."""

    items: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    declared_unit: str = ""


def _name(thing, lang: str) -> str:
    """A PCR's name of a thing in the language (the English one where the PCR gives no Chinese name)."""
    return (thing.label_zh or thing.label) if lang == "zh" else thing.label


def pcr_vocabulary(pcr_id: str, version: str, lang: str) -> Vocabulary:
    """The names of a PCR version in `lang` ('zh' or 'en'); empty for a PCR the registry does not know."""
    try:
        pcr = default_registry().get(pcr_id, version)
    except PCRNotFound:
        return Vocabulary()
    owners = [("", pcr.parameters)] + [(f"{item.id}.", item.parameters) for item in pcr.items]
    return Vocabulary(
        items={item.id: _name(item, lang) for item in pcr.items},
        parameters={f"{prefix}{p.id}": _name(p, lang) for prefix, specs in owners for p in specs},
        choices={
            f"{prefix}{p.id}.{c.value}": _name(c, lang) for prefix, specs in owners for p in specs for c in p.choices
        },
        declared_unit=(pcr.declared_unit.description_zh if lang == "zh" else None) or pcr.declared_unit.description,
    )
