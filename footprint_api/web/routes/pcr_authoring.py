"""Pages for a standards body's PCR authors and its committee chair: their drafts and versions, a draft's editor as
a form (no YAML or JSON in a text box), a preview of the inventory form and Excel template the PCR gives
manufacturers, and the life cycle: consultation, the chair's answers to every comment, publication, withdrawal.

Every change goes through services.pcr_registry, which decides who may do what and writes the audit trail. The
editor's inputs are named by the paths of the PCR document (`items[2].plausible_per_declared_unit.min`), so each
problem the full check reports (`check_document`, i.e. lca_models.pcr_check) is shown at the input of its path,
worded in the reader's language by its code. A draft may be saved with problems; it leaves draft only without any.
Lists (items, parameters, choices, standards…) grow and shrink with submit buttons that work without JavaScript:
such a button redraws the form from what was typed, with the row added, removed or moved, and stores nothing.
"""

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from footprint_api.core.errors import Conflict, Forbidden, NotFound, ServiceError, Unprocessable
from footprint_api.infra.workbooks import XLSX
from footprint_api.persistence.db import SessionDep
from footprint_api.persistence.models import PCRVersion
from footprint_api.services import backgrounds, excel, pcr_registry
from footprint_api.web import i18n, session
from footprint_api.web.pages import page, when
from footprint_api.web.routes import backgrounds as background_pages
from footprint_api.web.routes import inventory as inventory_pages
from footprint_api.web.routes import page_router
from footprint_api.web.session import PageUser
from lca_models.flows import FLOWS
from pcr_rules.errors import FieldError
from pcr_rules.formulas import CATALOGUE, FORMULAS, FUEL_COMBUSTION, FormulaSpec
from pcr_rules.language import MEASURABLE_GASES
from pcr_rules.lifecycle import IllegalTransition, Party, PCRState, check_work, semver
from pcr_rules.models import (
    PCR,
    CutOff,
    DataQualityRule,
    DeclaredUnit,
    ElectricityRule,
    ItemKind,
    MeasuredEmissionsRule,
    Stage,
)

router = page_router()
SignedIn = Annotated[PageUser, Depends(session.page_user())]
AuthorPage = Annotated[PageUser, Depends(session.page_user(*pcr_registry.AUTHOR_ROLES))]

BASE = "/app/pcr-authoring"
SEARCH_URL = background_pages.SEARCH  # the activity search an input item's background link is chosen from
MAX_ROWS = 200  # entries of one list of the editor (items, parameters, choices, lines)
MAX_TEXT_CHARS = 4000  # one input of the editor (the service bounds the whole document at 1 MiB)
MAX_KEY_CHARS = 100  # a PCR id or version in a URL (the service's PCR id is at most 100 characters)
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$")
INTEGER = re.compile(r"^[+-]?\d{1,9}$")
ROW = re.compile(r"\[(\d{1,6})\]")
SEGMENT = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")
# the lists the editor's buttons change, and their entries
LISTS = r"(items|parameters|require_one_of|standards(_zh)?|notes(_zh)?|boundary\.(included|excluded)(_zh)?|measured_emissions\.methods|items\[\d+\]\.parameters|(items\[\d+\]\.)?parameters\[\d+\]\.choices)"
ADDABLE = re.compile(rf"^{LISTS}$")
ENTRY = re.compile(rf"^{LISTS}\[\d+\]$")
ACTION = re.compile(r"^(save|add|remove|up|down|offer|find|unlink):?([A-Za-z0-9_.\[\]|]{0,300})$")
DONE = ("saved", "created", "consultation", "closed", "answered", "published", "withdrawn")
ITEM_PATH = re.compile(r"^items\[(\d{1,6})\]$")


# --- the editor's fields, as data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """One input of the editor. `key` is its path inside its owner (the document, an item, a parameter);
    `kind` says how it is drawn and read; `options` names a list of choices; `kinds` the item kinds it is for."""

    key: str
    kind: str  # text | area | unit | number | integer | select | flag | check | checks | lines | captive | default
    label: str
    help: str
    options: str = ""
    required: bool = False
    kinds: tuple[str, ...] = ()
    maxlength: int = 300


def _fields(group: str, *specs: tuple) -> tuple[FormField, ...]:
    """(key, kind, options, required, kinds) tuples as fields with their message keys pcra.f.<group><key>."""
    made = []
    for key, kind, *rest in specs:
        options, required, kinds = (*rest, *("", False, ())[len(rest) :])
        maxlength = MAX_KEY_CHARS if key in ("id", "value", "product_category") else 300
        maxlength = MAX_TEXT_CHARS if kind in ("area", "lines") else maxlength
        made.append(
            FormField(key, kind, f"pcra.f.{group}{key}", f"pcra.h.{group}{key}", options, required, kinds, maxlength)
        )
    return tuple(made)


@dataclass(frozen=True)
class Section:
    key: str  # the anchor of the section (a path of the document)
    fields: tuple[FormField, ...]


SECTIONS = (
    Section(
        "general",
        _fields(
            "",
            ("title", "text", "", True),
            ("title_zh", "text"),
            ("product_category", "text", "", True),
            ("product_category_label", "text"),
            ("product_category_label_zh", "text"),
            ("max_reference_period_days", "integer"),
        ),
    ),
    Section(
        "declared_unit",
        _fields(
            "",
            ("declared_unit.amount", "number", "", True),
            ("declared_unit.unit", "unit", "", True),
            ("declared_unit.description", "area", "", True),
            ("declared_unit.description_zh", "area"),
        ),
    ),
    Section("standards", _fields("", ("standards", "lines", "", True), ("standards_zh", "lines"))),
    Section(
        "boundary",
        _fields(
            "",
            ("boundary.included", "lines", "", True),
            ("boundary.included_zh", "lines"),
            ("boundary.excluded", "lines"),
            ("boundary.excluded_zh", "lines"),
        ),
    ),
    Section(
        "cut_off",
        _fields(
            "",
            ("cut_off.rule", "area", "", True),
            ("cut_off.rule_zh", "area"),
            ("cut_off.max_single_share", "number"),
            ("cut_off.max_total_share", "number"),
        ),
    ),
    Section(
        "allocation",
        _fields(
            "",
            ("allocation.method", "select", "allocation", True),
            ("allocation.justification", "area", "", True),
            ("allocation.justification_zh", "area"),
        ),
    ),
    Section(
        "electricity",
        _fields(
            "",
            ("electricity.reported_method", "select", "reported_method"),
            ("electricity.location_level", "select", "location_level"),
            ("electricity.gec_allowed", "check"),
            ("electricity.eligible_technologies", "checks", "technologies"),
            ("electricity.certificate_validity_months", "integer"),
            ("electricity.captive_fuels", "captive", "fuels"),
        ),
    ),
    Section(
        "data_quality",
        _fields(
            "",
            ("data_quality.max_dqr", "number"),
            ("data_quality.default_primary_relative_sd", "number"),
            ("data_quality.default_secondary_relative_sd", "number"),
            ("data_quality.forbid_screening_factors_for", "checks", "item_ids"),
        ),
    ),
    Section(
        "measured_emissions",
        _fields(
            "",
            ("measured_emissions.allowed_gases", "checks", "gases"),
            ("measured_emissions.methods", "lines"),
            ("measured_emissions.require_sources", "check"),
        ),
    ),
)
NOTES, NOTES_ZH = _fields("", ("notes", "lines"), ("notes_zh", "lines"))
# the product class (choice parameters of the product system), and the groups of items of which one must be given
(CLASSIFICATION,) = _fields("", ("classification", "checks", "product_parameters"))
(REQUIRE_ONE_OF,) = _fields("", ("require_one_of", "checks", "item_ids"))
GROUP_LISTS = {"require_one_of"}  # lists whose every entry is a set of boxes
ITEM_FIELDS = _fields(
    "item.",
    ("id", "text", "", True),
    ("label", "text", "", True),
    ("label_zh", "text"),
    ("kind", "select", "kinds", True),
    ("unit", "unit", "", True),
    ("stage", "select", "stages", True),
    ("required", "flag"),
    ("primary_data_required", "flag"),
    ("required_with", "checks", "item_ids"),
    ("plausible_per_declared_unit.min", "number"),
    ("plausible_per_declared_unit.max", "number"),
    ("activity", "select", "activities", False, ("input", "process")),
    ("fuel", "select", "fuels", False, ("fuel",)),
    ("sector", "select", "sectors", False, ("fuel",)),
    ("formula", "select", "formulas", False, ("process",)),
    ("note", "area"),
    ("note_zh", "area"),
)
PARAMETER_FIELDS = _fields(
    "param.",
    ("id", "text", "", True),
    ("label", "text", "", True),
    ("label_zh", "text"),
    ("unit", "unit"),
    ("required", "flag"),
    ("range.min", "number"),
    ("range.max", "number"),
    ("default", "default"),
    ("default_source", "text"),
)
CHOICE_FIELDS = _fields("choice.", ("value", "text", "", True), ("label", "text", "", True), ("label_zh", "text"))
WHEN_ABSENT_FIELDS = _fields(
    "absent.", ("formula", "select", "formulas", True), ("dqr", "number", "", True), ("relative_sd", "number", "", True)
) + _fields("absent.", ("note", "area", "", True), ("note_zh", "area"))
# an input item's link to an activity of an imported background database (pcr_rules.models.BackgroundLink): filled
# by choosing a result of the activity search (web.routes.backgrounds), or typed
BACKGROUND_FIELDS = tuple(
    FormField(f"background.{key}", kind, f"bg.f.{key}", f"bg.h.{key}", maxlength=maxlength)
    for key, kind, maxlength in (
        ("database", "text", 100),
        ("activity", "text", 200),
        ("unit", "unit", 64),
        ("name", "text", 500),
        ("version", "text", 64),
    )
)
OBJECT_LISTS = {"items": ITEM_FIELDS, "parameters": PARAMETER_FIELDS, "choices": CHOICE_FIELDS}
LINE_LISTS = {
    *("standards", "boundary.included", "boundary.excluded", "notes"),
    *("standards_zh", "boundary.included_zh", "boundary.excluded_zh", "notes_zh"),
    "measured_emissions.methods",
}


def _model_defaults() -> dict[str, Any]:
    """What the PCR model takes for a rule the document does not state: the editor shows it."""
    defaults: dict[str, Any] = {"max_reference_period_days": PCR.model_fields["max_reference_period_days"].default}
    for section, model in (
        ("declared_unit", DeclaredUnit),
        ("cut_off", CutOff),
        ("electricity", ElectricityRule),
        ("data_quality", DataQualityRule),
        ("measured_emissions", MeasuredEmissionsRule),
    ):
        for name, info in model.model_fields.items():
            if not info.is_required():
                defaults[f"{section}.{name}"] = info.get_default(call_default_factory=True)
    return defaults


DEFAULTS = _model_defaults()


# --- reading the submitted form into a document ----------------------------------------------------------------------


class Reading:
    """A submitted editor form, read into a PCR document field by field. Input that cannot be a value of its field
    (a word where a number belongs, text over the limit, too many rows) is an error at that field: nothing is stored
    then. Everything else goes into the document, problems and all: the check names them."""

    def __init__(self, form: dict):
        self.form = {k: v for k, v in form.items() if isinstance(v, str | list)}
        self.errors: dict[str, list[tuple[str, dict]]] = {}
        self._rows: dict[str, set[int]] = {}
        for name in self.form:
            for found in ROW.finditer(name):
                self._rows.setdefault(name[: found.start()], set()).add(int(found.group(1)))

    def error(self, name: str, key: str, **values) -> None:
        found = self.errors.setdefault(name, [])
        if (key, values) not in found:
            found.append((key, values))

    def raw(self, name: str) -> str:
        value = self.form.get(name, "")
        if isinstance(value, list):
            value = value[-1] if value else ""
        value = value if isinstance(value, str) else ""
        if len(value) > MAX_TEXT_CHARS:
            self.error(name, "pcra.err.too_long", max=MAX_TEXT_CHARS)
            return value[:MAX_TEXT_CHARS]
        return value.strip()

    def text(self, name: str, _field=None) -> str | None:
        return self.raw(name) or None

    def number(self, name: str, _field=None) -> float | str | None:
        text = self.raw(name)
        if not text:
            return None
        if NUMBER.match(text):
            value = float(text)
            if abs(value) < 1e300:
                return value
        self.error(name, "pcra.err.number")
        return text

    def integer(self, name: str, _field=None) -> int | str | None:
        text = self.raw(name)
        if not text:
            return None
        if INTEGER.match(text):
            return int(text)
        self.error(name, "pcra.err.integer")
        return text

    def default(self, name: str, _field=None) -> float | str | None:
        """A parameter's default: a number, or the value of one of its choices."""
        text = self.raw(name)
        return float(text) if text and NUMBER.match(text) else (text or None)

    def flag(self, name: str, _field=None) -> bool | None:
        return True if self.raw(name) else None

    def check(self, name: str, _field=None) -> bool:
        return bool(self.raw(name))

    def checks(self, name: str, _field=None) -> list[str]:
        value = self.form.get(name, [])
        chosen = [value] if isinstance(value, str) else value
        return [v.strip() for v in chosen[:MAX_ROWS] if isinstance(v, str) and v.strip()]

    def rows(self, prefix: str) -> list[str]:
        """The rows of the list `prefix` the form has, in their order ("items[0]", "items[3]"…)."""
        found = sorted(self._rows.get(prefix, ()))
        if len(found) > MAX_ROWS:
            self.error(prefix, "pcra.err.rows", max=MAX_ROWS)
        return [f"{prefix}[{n}]" for n in found[:MAX_ROWS]]

    def lines(self, prefix: str, _field=None) -> list[str]:
        return [self.raw(row) for row in self.rows(prefix)]

    def captive(self, name: str, _field=None) -> dict[str, str]:
        """The fuels the plant's own units may burn, each with the unit its amount is given in."""
        fuels = {}
        for key in self.form:
            if key.startswith(f"{name}.") and (unit := self.raw(key)):
                fuels[key.removeprefix(f"{name}.")] = unit
        return fuels


READERS: dict[str, Callable[[Reading, str, FormField], Any]] = {
    "text": Reading.text,
    "area": Reading.text,
    "unit": Reading.text,
    "select": Reading.text,
    "number": Reading.number,
    "integer": Reading.integer,
    "default": Reading.default,
    "flag": Reading.flag,
    "check": Reading.check,
    "checks": Reading.checks,
    "lines": Reading.lines,
    "captive": Reading.captive,
}


def _put(target: dict, key: str, value) -> None:
    """Sets target[a][b] for the key "a.b"; nothing for an empty value (the model's default applies)."""
    if value is None:
        return
    *parents, last = key.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def _read_fields(reading: Reading, prefix: str, fields: tuple[FormField, ...], kind: str | None = None) -> dict:
    """An object of the document from its fields; an item's fields for other kinds are left out."""
    made: dict = {}
    for field in fields:
        if kind in {k.value for k in ItemKind} and field.kinds and kind not in field.kinds:
            continue
        name = f"{prefix}.{field.key}" if prefix else field.key
        _put(made, field.key, READERS[field.kind](reading, name, field))
    return made


def read_document(reading: Reading, pcr_id: str, version: str) -> dict:
    """The whole form as a document, its rows as they were typed (empty ones too: see `cleaned`)."""
    document: dict = {"id": pcr_id, "version": version}
    for section in SECTIONS:
        for key, value in _read_fields(reading, "", section.fields).items():
            document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    document.setdefault("boundary", {})["type"] = "cradle-to-gate"
    document["parameters"] = [_read_parameter(reading, row) for row in reading.rows("parameters")]
    document["items"] = [_read_item(reading, row) for row in reading.rows("items")]
    # written only when stated: an empty rule is the model's default, and a document without it stays as it was
    if classification := reading.checks("classification"):
        document["classification"] = classification
    if groups := [reading.checks(row) for row in reading.rows("require_one_of")]:
        document["require_one_of"] = groups
    document["notes"] = reading.lines("notes")
    document["notes_zh"] = reading.lines("notes_zh")
    return document


def _without_empty_translations(document: dict) -> dict:
    """A list of Chinese texts left empty is no translation (Chinese pages then show the English): not written."""
    for owner in (document, document.get("boundary") or {}):
        for key in [k for k, v in owner.items() if k.endswith("_zh") and v == []]:
            del owner[key]
    return document


def _read_parameter(reading: Reading, prefix: str) -> dict:
    parameter = _read_fields(reading, prefix, PARAMETER_FIELDS)
    choices = [_read_fields(reading, row, CHOICE_FIELDS) for row in reading.rows(f"{prefix}.choices")]
    if choices:
        parameter["choices"] = choices
    return parameter


def _read_item(reading: Reading, prefix: str) -> dict:
    kind = reading.raw(f"{prefix}.kind")
    item = _read_fields(reading, prefix, ITEM_FIELDS, kind)
    if kind == ItemKind.PROCESS.value:
        config = _read_settings(reading, f"{prefix}.formula_config", FORMULAS.get(item.get("formula") or ""))
        if config:
            item["formula_config"] = config
        if not item.get("required") and reading.raw(f"{prefix}.when_absent.enabled"):
            item["when_absent"] = _read_when_absent(reading, f"{prefix}.when_absent")
    if kind == ItemKind.INPUT.value:
        item.update(_read_fields(reading, prefix, BACKGROUND_FIELDS))  # nothing when every field is empty
    parameters = [_read_parameter(reading, row) for row in reading.rows(f"{prefix}.parameters")]
    if parameters:
        item["parameters"] = parameters
    return item


def _read_when_absent(reading: Reading, prefix: str) -> dict:
    default = _read_fields(reading, prefix, WHEN_ABSENT_FIELDS)
    config = _read_settings(reading, f"{prefix}.formula_config", FORMULAS.get(default.get("formula") or ""))
    if config:
        default["formula_config"] = config
    return default


def _read_settings(reading: Reading, prefix: str, spec: FormulaSpec | None) -> dict:
    """The settings the formula declares, each a value of its kind or, where the formula allows, a parameter."""
    config: dict = {}
    for setting in spec.settings if spec else ():
        name = f"{prefix}.{setting.id}"
        named = reading.raw(f"{name}.parameter") if setting.from_parameter else ""
        if named:
            config[setting.id] = {"parameter": named}
        elif setting.kind == "number" or (setting.kind == "choice" and all(_is_number(c) for c in setting.choices)):
            _put(config, setting.id, reading.number(name))
        else:
            _put(config, setting.id, reading.text(name))
    return config


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- empty rows, and the paths of what is left ---------------------------------------------------------------------


def _empty(value) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == "" or value == []


def cleaned(value, path: str = "", kept: dict | None = None) -> tuple[Any, dict[str, list[int]]]:
    """The document without its empty rows, and for each list (by its path in the result) the positions its
    entries had in the form, so that a problem of `items[2]` is shown at the row the person sees as the third."""
    kept = {} if kept is None else kept
    if isinstance(value, dict):
        return {k: cleaned(v, f"{path}.{k}" if path else k, kept)[0] for k, v in value.items()}, kept
    if isinstance(value, list):
        entries = [(index, entry) for index, entry in enumerate(value) if not _empty(entry)]
        kept[path] = [index for index, _ in entries]
        return [cleaned(entry, f"{path}[{n}]", kept)[0] for n, (_, entry) in enumerate(entries)], kept
    return value, kept


def form_path(loc: str, kept: dict[str, list[int]]) -> str:
    """A path of the cleaned document as the path of the form's input: `items[2]` -> `items[4]` when two empty
    rows came before it."""
    clean = shown = ""
    for found in SEGMENT.finditer(loc):
        index, name = found.groups()
        if index is not None:
            rows = kept.get(clean)
            position = int(index)
            clean += f"[{index}]"
            shown += f"[{rows[position] if rows and position < len(rows) else position}]"
            continue
        clean, shown = (f"{clean}.{name}" if clean else name), (f"{shown}.{name}" if shown else name)
    return shown or loc


def dig(document, path: str):
    """The value at a path of the document (None where there is none)."""
    value = document
    for found in SEGMENT.finditer(path):
        index, name = found.groups()
        if index is not None:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


# --- changes to the form's lists (add, remove, move, a parameter a formula reads) -------------------------------------


def _parent_list(document: dict, path: str) -> tuple[list | None, int]:
    """The list holding the entry at `path` ("items[2]") and its position; (None, -1) if there is none."""
    found = re.match(r"^(.*)\[(\d+)\]$", path)
    if not found:
        return None, -1
    rows = dig(document, found.group(1))
    index = int(found.group(2))
    return (rows, index) if isinstance(rows, list) and index < len(rows) else (None, -1)


def _list_at(document: dict, path: str) -> list | None:
    """The list at `path`, made when an object the path names holds none yet ("items[1].parameters")."""
    head, _, last = path.rpartition(".")
    owner = dig(document, head) if head else document
    if path in LINE_LISTS and "." in path:
        owner = document.setdefault(head, {})
    if not isinstance(owner, dict) or (last not in OBJECT_LISTS and path not in LINE_LISTS | GROUP_LISTS):
        return None
    rows = owner.setdefault(last, [])
    return rows if isinstance(rows, list) else None


def change_rows(document: dict, verb: str, target: str, vocab: pcr_registry.Vocabulary) -> bool:
    """Applies one list change of the editor to the typed document; False if the target is not in the form."""
    if verb == "add":
        return _add_row(document, target)
    if verb == "offer":
        return _offer(document, target, vocab)
    if verb == "unlink":
        return _unlink(document, target)
    return _remove_or_move_row(document, verb, target)


def _unlink(document: dict, target: str) -> bool:
    """Removes an item's background link (the factor set's activity stays, as it always is the fallback)."""
    item = dig(document, target) if ITEM_PATH.match(target) else None
    if not isinstance(item, dict):
        return False
    item.pop("background", None)
    return True


def _add_row(document: dict, target: str) -> bool:
    """Appends an empty row to a list the editor may grow, unless the list is full (MAX_ROWS)."""
    rows = _list_at(document, target) if ADDABLE.match(target) else None
    if rows is None or len(rows) >= MAX_ROWS:
        return False
    rows.append("" if target in LINE_LISTS else [] if target in GROUP_LISTS else {})
    return True


def _remove_or_move_row(document: dict, verb: str, target: str) -> bool:
    """Removes an entry, or swaps it with its neighbour ("up"/"down"; a move past either end changes nothing)."""
    rows, index = _parent_list(document, target) if ENTRY.match(target) else (None, -1)
    if rows is None:
        return False
    if verb == "remove":
        del rows[index]
    else:
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
    return True


def _offer(document: dict, target: str, vocab: pcr_registry.Vocabulary) -> bool:
    """Adds to an item a parameter its formula reads (`items[1]|purity`), named and with the formula's unit."""
    path, _, input_id = target.partition("|")
    item = dig(document, path)
    spec = formula_of(item) if isinstance(item, dict) else None
    wanted = spec.input(input_id) if spec else None
    if wanted is None:
        return False
    item.setdefault("parameters", []).append(
        {
            "id": wanted.id,
            "label": wanted.description,
            "label_zh": wanted.description_zh,
            "unit": formula_unit(wanted.unit, item, vocab),
            **({"required": True} if wanted.required else {}),
        }
    )
    return True


def formula_of(item: dict) -> FormulaSpec | None:
    """The formula an item's amount feeds: a process item's, or a fuel item's combustion."""
    if item.get("kind") == ItemKind.FUEL.value:
        return FUEL_COMBUSTION
    return FORMULAS.get(item.get("formula") or "") if item.get("kind") == ItemKind.PROCESS.value else None


def formula_unit(unit: str, item: dict, vocab: pcr_registry.Vocabulary) -> str:
    """A unit of the catalogue with its placeholders filled for this item: GJ/({fuel_unit}) -> GJ/t."""
    fuel_unit = vocab.fuel_unit(str(item.get("fuel") or "")) or str(item.get("unit") or "")
    filled = unit.replace("{fuel_unit}", fuel_unit).replace("{item_unit}", str(item.get("unit") or ""))
    return re.sub(r"\((\w+)\)$", r"\1", filled)


# --- problems, worded and placed -----------------------------------------------------------------------------------


def anchors(document: dict) -> set[str]:
    """Every name the editor shows problems at: its inputs, and the blocks around them."""
    names = {"(document)", "general", "parameters", "items", "notes", *(s.key for s in SECTIONS)}
    for section in SECTIONS:
        for field in section.fields:
            names |= _section_field_anchors(document, field)
    names.update(f"notes[{i}]" for i in range(len(_as_list(document.get("notes")))))
    for index, parameter in enumerate(_as_list(document.get("parameters"))):
        names.update(_parameter_anchors(f"parameters[{index}]", parameter))
    for index, item in enumerate(_as_list(document.get("items"))):
        names.update(_item_anchors(f"items[{index}]", item if isinstance(item, dict) else {}))
    return names


def _section_field_anchors(document: dict, field) -> set[str]:
    """A section field's input, and its rows: a line per entry of a lines field, a fuel per entry of a captive one."""
    names = {field.key}
    if field.kind == "lines":
        names.update(f"{field.key}[{i}]" for i in range(len(_as_list(dig(document, field.key)))))
    if field.kind == "captive":
        captive = dig(document, field.key)
        fuels = {fuel for fuel, _, _ in pcr_registry.vocabulary().fuels} | set(
            captive if isinstance(captive, dict) else ()
        )
        names.update(f"{field.key}.{fuel}" for fuel in fuels)
    return names


def _as_list(value) -> list:
    return value if isinstance(value, list) else []


def _parameter_anchors(prefix: str, parameter) -> set[str]:
    names = {prefix, f"{prefix}.choices", f"{prefix}.range"} | {f"{prefix}.{f.key}" for f in PARAMETER_FIELDS}
    choices = _as_list(parameter.get("choices")) if isinstance(parameter, dict) else []
    for index in range(len(choices)):
        names |= {f"{prefix}.choices[{index}]"} | {f"{prefix}.choices[{index}].{f.key}" for f in CHOICE_FIELDS}
    return names


def _item_anchors(prefix: str, item: dict) -> set[str]:
    """An item's inputs, as the editor draws them: the formula's settings for a process item, and the default
    method for an optional one."""
    names = {prefix, f"{prefix}.parameters", f"{prefix}.plausible_per_declared_unit", f"{prefix}.background"}
    names |= {f"{prefix}.{f.key}" for f in (*ITEM_FIELDS, *BACKGROUND_FIELDS)}
    if item.get("kind") == ItemKind.PROCESS.value:
        names.add(f"{prefix}.formula_config")
        names |= _setting_anchors(f"{prefix}.formula_config", FORMULAS.get(str(item.get("formula") or "")))
        if not item.get("required"):
            absent = item.get("when_absent") if isinstance(item.get("when_absent"), dict) else {}
            names |= {f"{prefix}.when_absent", f"{prefix}.when_absent.formula_config"}
            names |= {f"{prefix}.when_absent.{f.key}" for f in WHEN_ABSENT_FIELDS}
            spec = FORMULAS.get(str(absent.get("formula") or ""))
            names |= _setting_anchors(f"{prefix}.when_absent.formula_config", spec)
    for index, parameter in enumerate(_as_list(item.get("parameters"))):
        names |= _parameter_anchors(f"{prefix}.parameters[{index}]", parameter)
    return names


def _setting_anchors(prefix: str, spec: FormulaSpec | None) -> set[str]:
    names = set()
    for setting in spec.settings if spec else ():
        names.add(f"{prefix}.{setting.id}")
        if setting.from_parameter:
            names.add(f"{prefix}.{setting.id}.parameter")
    return names


def anchor_of(loc: str, known: set[str]) -> str:
    """The input (or block) a problem at `loc` is shown at: the path itself, else the nearest enclosing one."""
    path = loc
    while path:
        if path in known:
            return path
        shorter = re.sub(r"(\.[^.\[\]]+|\[[^\[\]]*\])$", "", path)
        if shorter == path:
            break
        path = shorter
    return "(document)"


@dataclass(frozen=True)
class Problem:
    path: str  # where the check found it, as the person's form numbers the rows
    message: str  # in the reader's language
    anchor: str  # the input or block it is shown at

    @property
    def target(self) -> str:
        return field_id(self.anchor)


def worded(t, problem: FieldError, document: dict, vocab: pcr_registry.Vocabulary) -> str:
    """A problem of the check in the reader's language, by its code, with the value it is about."""
    code = problem.code or "other"
    key = f"pcra.err.{code}"
    if code == "schema.value_error" and problem.loc.rsplit(".", 1)[-1] in ("activity", "fuel", "formula"):
        key = "pcra.err.needs_reference"
    owner = dig(document, re.sub(r"\.[^.\[\]]+$", "", problem.loc))
    values = {
        "value": shown(dig(document, problem.loc)),
        "factor_set": vocab.factor_set,
        "message": problem.message,
        "expected": (re.findall(r"'([^']*)'", problem.message) or [""])[-1],
        "min": shown(owner.get("min")) if isinstance(owner, dict) else "",
        "max": shown(owner.get("max")) if isinstance(owner, dict) else "",
    }
    return t(key if key in t.messages else "pcra.err.other", **values)


def check_problems(t, document: dict, kept: dict | None = None, form_document: dict | None = None) -> list[Problem]:
    """The full check of the document, each problem placed at an input of the form (drawn from `form_document`,
    whose rows `kept` maps to; the document itself when the form shows it as it is)."""
    vocab, drawn = pcr_registry.vocabulary(), form_document if form_document is not None else document
    known = anchors(drawn)
    problems = []
    for problem in pcr_registry.check_document(document):
        path = form_path(problem.loc, kept) if kept else problem.loc
        problems.append(Problem(path, worded(t, problem, document, vocab), anchor_of(path, known)))
    return problems


def reading_problems(t, reading: Reading, document: dict) -> list[Problem]:
    known = anchors(document)
    return [
        Problem(name, t(key, **values), anchor_of(name, known))
        for name, found in reading.errors.items()
        for key, values in found
    ]


def by_anchor(problems: list[Problem]) -> dict[str, list[Problem]]:
    placed: dict[str, list[Problem]] = {}
    for problem in problems:
        placed.setdefault(problem.anchor, []).append(problem)
    return placed


# --- presentation helpers ----------------------------------------------------------------------------------------


def field_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def shown(value) -> str:
    """A value of the document in an input: 5000 (not 5000.0), 0.05, text as it is."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def general_value(document: dict, key: str):
    """A general field's value, or the model's default when the document does not state it."""
    value = dig(document, key)
    return DEFAULTS.get(key) if value is None else value


def options(t, document: dict) -> dict[str, list[tuple[str, str]]]:
    """The choices of every select and set of boxes of the editor, worded in the reader's language."""
    return {
        **_code_options(t),
        **_vocabulary_options(t, pcr_registry.vocabulary()),
        "item_ids": _item_id_options(t, document),
        "product_parameters": _product_parameter_options(t, document),
        "flows": [(f, f) for f in FLOWS],
    }


def _code_options(t) -> dict[str, list[tuple[str, str]]]:
    """The choices that are fixed codes of the models, each worded by the catalogue."""
    return {
        "kinds": [(k.value, t(f"inv.kind.{k.value}")) for k in ItemKind],
        "stages": [(s.value, t(f"inv.stage.{s.value}")) for s in Stage],
        "sectors": [(s, t(f"pcra.opt.sector.{s}")) for s in ("industry", "energy")],
        "allocation": [(m, t(f"pcr.allocation.{m}")) for m in ("none", "mass", "economic")],
        "reported_method": [(m, t(f"code.method.{m}")) for m in ("market_based", "location_based")],
        "location_level": [(m, t(f"pcra.opt.location_level.{m}")) for m in ("national", "region", "province")],
    }


def _vocabulary_options(t, vocab: pcr_registry.Vocabulary) -> dict[str, list[tuple[str, str]]]:
    """The choices the factor set and the formula catalogue supply (activities, fuels, formulas, technologies…)."""
    return {
        "activities": [(code, f"{code} — {name} ({unit})") for code, name, unit in vocab.activities],
        "fuels": [(key, f"{key} — {label} ({unit})") for key, label, unit in vocab.fuels],
        "formulas": [(f.name, f"{f.title_zh if t.lang == 'zh' else f.title} ({f.name})") for f in CATALOGUE],
        "technologies": [(k, t(f"inv.tech.{k}")) for k in vocab.technologies if f"inv.tech.{k}" in t.messages],
        "gases": [(g, t(f"inv.gas.{g}")) for g in MEASURABLE_GASES],
    }


def _item_id_options(t, document: dict) -> list[tuple[str, str]]:
    """The document's own items that have an id, for the inputs that refer to another item."""
    items = [i for i in _as_list(document.get("items")) if isinstance(i, dict) and i.get("id")]
    return [(str(i["id"]), f"{i['id']} — {_label(i, t.lang)}") for i in items]


def _product_parameter_options(t, document: dict) -> list[tuple[str, str]]:
    """The product system's choice parameters, which may define the product class."""
    parameters = [p for p in _as_list(document.get("parameters")) if isinstance(p, dict) and p.get("id")]
    return [(str(p["id"]), f"{p['id']} — {_label(p, t.lang)}") for p in parameters if p.get("choices")]


def _label(thing: dict, lang: str) -> str:
    return str((thing.get("label_zh") if lang == "zh" else None) or thing.get("label") or thing.get("id") or "")


def with_current(choices: list[tuple[str, str]], value) -> list[tuple[str, str]]:
    """A select's (or a set of boxes') options, with each value of the document that is none of them added and
    marked: what is there is shown, not silently replaced."""
    known = {v for v, _ in choices}
    values = value if isinstance(value, list) else [value]
    extra = dict.fromkeys(shown(v) for v in values if shown(v) and shown(v) not in known)
    return [*choices, *((v, f"{v} (?)") for v in extra)]


def setting_options(setting) -> list[tuple[str, str]]:
    """A formula setting's choices: the factor set's constants, the choices it declares, or the elementary flows."""
    if setting.kind == "constant":
        return [(k, k) for k in pcr_registry.vocabulary().constants.get(setting.section or "", ())]
    if setting.kind == "choice":
        return [(shown(c), shown(c)) for c in setting.choices]
    if setting.kind == "flow":
        return [(f, f) for f in FLOWS]
    return []


def parameter_ids(document: dict, item: dict) -> list[tuple[str, str]]:
    """What a setting may take from: the item's parameters and the product system's."""
    found = [*_as_list(item.get("parameters")), *_as_list(document.get("parameters"))]
    ids = [str(p["id"]) for p in found if isinstance(p, dict) and p.get("id")]
    return [(i, i) for i in dict.fromkeys(ids)]


def offered_inputs(item: dict) -> list:
    """The parameters the item's formula reads that the item does not list yet."""
    spec = formula_of(item)
    listed = {p.get("id") for p in _as_list(item.get("parameters")) if isinstance(p, dict)}
    return [i for i in spec.inputs if i.id not in listed] if spec else []


def comment_anchor(document: dict, path: str) -> str | None:
    """The editor's block of a comment's path: `items[ore_mnco3]` is the item with that id."""
    found = re.match(r"^items\[([^\]]+)\]", path or "")
    if found:
        index = _item_index(document, found.group(1))
        return None if index is None else field_id(f"items[{index}]")
    head = (path or "").split(".")[0].split("[")[0]
    return field_id(head) if head in {s.key for s in SECTIONS} | {"parameters", "notes"} else None


def _item_index(document: dict, key: str) -> int | None:
    """The row of the item a comment names: by its id, else by its row number when that row exists."""
    ids = [i.get("id") if isinstance(i, dict) else None for i in _as_list(document.get("items"))]
    return ids.index(key) if key in ids else (int(key) if key.isdigit() and int(key) < len(ids) else None)


# --- the version a page is about -----------------------------------------------------------------------------------


def _t(request: Request):
    return i18n.catalogue(i18n.negotiate(request))


def _version(db: Session, user: PageUser, pcr_id: str, version: str) -> PCRVersion:
    """The version, if this person may see it (else 404, whoever they are), and if they write for the standards
    body that issues it (else 403: a consultation is public, its authoring pages are not)."""
    if len(pcr_id) > MAX_KEY_CHARS or len(version) > MAX_KEY_CHARS:
        raise NotFound("no such PCR version visible to you")
    row = pcr_registry.visible_version(db, user.principal, pcr_id, version)
    if Party.AUTHOR not in pcr_registry.parties(db, user.principal, row):
        raise Forbidden("these pages are for the authors of the standards body that issues the version")
    return row


def _url(row) -> str:
    pcr_id, version = (row.pcr_id, row.version) if isinstance(row, PCRVersion) else (row["id"], row["version"])
    return f"{BASE}/{pcr_id}/{version}"


def _notice(t, done: str | None, **values) -> str | None:
    if done == "linked":  # the background link's notice is worded with the background pages' messages
        return t("bg.edit.done_linked")
    return t(f"pcra.done.{done}", **values) if done in DONE else None


def _refusal(request: Request, user, exc: ServiceError):
    """A step the service refused (not from this state, not this person's step…), as a page in the reader's
    language: the refusal's code and parameters worded by the catalogue (services.pcr_registry.refusal_in)."""
    t = _t(request)
    status = exc.status if exc.status in (403, 409, 413, 422) else 409
    detail = pcr_registry.refusal_in(t, exc)
    return page(request, "app/error.html", user, status, title=t(f"error.{status}"), detail=detail, errors=[])


def _service_errors(t, exc: ServiceError, fields: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The refusal in the reader's language, by the form's fields: each reason at its field where the form has that
    field (`fields`), the refusal as a whole and every other reason at "" (the form's general place)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, reason: str) -> None:
        found = errors.setdefault(field, [])
        if reason not in found:
            found.append(reason)

    whole = pcr_registry.refusal_in(t, exc)
    if not exc.errors or any(str(e.get("field", "")) not in fields for e in exc.errors):
        add("", whole)
    for error in exc.errors:
        field = str(error.get("field", ""))
        reason = pcr_registry.reason_in(t, error.get("code", ""), error.get("params"), str(error.get("reason", "")))
        if reason != whole or field in fields:
            add(field if field in fields else "", reason)
    return errors


# --- my PCRs: the list, and new drafts -----------------------------------------------------------------------------


def _own(db: Session, user: PageUser) -> list[dict]:
    """The versions of this person's standards body (its drafts too), by PCR and version."""
    own = user.principal.organisation_id
    return [v for v in pcr_registry.list_versions(db, user.principal) if v["issuer"] and v["issuer"]["id"] == own]


def _bases(versions: list[dict]) -> list[dict]:
    """Each PCR of the body with a published version (not withdrawn): the newest, and a suggested next version."""
    latest: dict[str, dict] = {}
    for v in versions:
        if v["published_at"] is not None and v["status"] != PCRState.WITHDRAWN.value:
            latest[v["id"]] = v
    suggested = {pcr_id: _next_version(versions, pcr_id, v["version"]) for pcr_id, v in latest.items()}
    return [{**v, "next": suggested[pcr_id]} for pcr_id, v in latest.items()]


def _next_version(versions: list[dict], pcr_id: str, current: str) -> str:
    """The first minor version after `current` the PCR has not used yet (else the next major): what a new draft
    suggests."""
    taken = {w["version"] for w in versions if w["id"] == pcr_id}
    major, minor, _ = (int(p) for p in current.split("."))
    free = (f"{major}.{m}.0" for m in range(minor + 1, minor + 100) if f"{major}.{m}.0" not in taken)
    return next(free, f"{major + 1}.0.0")


def _list_page(request, user, db, status_code=200, errors=None, values=None, done=None):
    t = _t(request)
    versions = _own(db, user)
    return page(
        request,
        "pcr/authoring/list.html",
        user,
        status_code,
        versions=versions,
        bases=_bases(versions),
        errors=errors or {},
        values=values or {},
        field_id=field_id,
        when=when,
        notice=_notice(t, done),
        base_url=BASE,
    )


@router.get(BASE)
def my_pcrs(request: Request, db: SessionDep, user: AuthorPage, done: str | None = None):
    return _list_page(request, user, db, done=done)


NEW_FIELDS = (
    "pcr_id",
    "version",
    "start_from",
    "title",
    "title_zh",
    "product_category",
    "declared_unit.amount",
    "declared_unit.unit",
    "declared_unit.description",
    "declared_unit.description_zh",
)


def _first_document(reading: Reading, pcr_id: str, version: str) -> dict | None:
    """What an empty draft starts with: the heading fields the person gave on the list page."""
    document = {"id": pcr_id, "version": version}
    for key in NEW_FIELDS[3:]:
        _put(document, key, reading.number(key) if key == "declared_unit.amount" else reading.text(key))
    return document if len(document) > 2 else None


def _create(request: Request, user: PageUser, db: Session, form: dict):
    t = _t(request)
    reading = Reading(form)
    values = {key: reading.raw(key) for key in NEW_FIELDS}
    start_from = "latest" if values["start_from"] == "latest" else "empty"
    first = _first_document(reading, values["pcr_id"], values["version"]) if start_from == "empty" else None
    scope = values["pcr_id"] if start_from == "latest" else "new"
    if not pcr_registry.PCR_ID.match(values["pcr_id"]):  # both named in one round; the service decides again
        reading.error("pcr_id", "pcra.err.pcr_id")
    try:
        semver(values["version"])
    except ValueError:
        reading.error("version", "pcra.err.semver")
    if reading.errors:
        errors = {f"{scope}.{name}": [t(k, **v) for k, v in found] for name, found in reading.errors.items()}
        return _list_page(request, user, db, 422, errors, {scope: values})
    try:
        pcr_registry.create_draft(db, user.principal, values["pcr_id"], values["version"], start_from)
        if first is not None:
            pcr_registry.replace_document(db, user.principal, values["pcr_id"], values["version"], first)
    except ServiceError as exc:
        db.rollback()
        errors: dict[str, list[str]] = {}
        named = (*NEW_FIELDS, "start_from", "id")
        for name, reasons in _service_errors(t, exc, named).items():
            field = {"start_from": "version", "id": "pcr_id"}.get(name, name)
            errors.setdefault(f"{scope}.{field if field in NEW_FIELDS else 'pcr_id'}", []).extend(reasons)
        return _list_page(request, user, db, exc.status, errors, {scope: values})
    return RedirectResponse(f"{BASE}/{values['pcr_id']}/{values['version']}/edit?done=created", status_code=303)


@router.post(f"{BASE}/drafts")
async def create_draft(request: Request, db: SessionDep, user: AuthorPage):
    """An empty draft of a new PCR (with its heading fields), or a new version as a copy of the latest published."""
    form = await session.form(request, user)
    return await run_in_threadpool(_create, request, user, db, form)


# --- one version: its overview, comments and life cycle -------------------------------------------------------------


def _changes(db: Session, user: PageUser, row: PCRVersion) -> list | None:
    """What changed from the base version; None when there is none, or when the service cannot compute the changes
    yet (the draft is not a PCR yet)."""
    if row.based_on is None:
        return None
    return pcr_registry.changes_from_base(db, user.principal, row.pcr_id, row.version)


def _overview(request, user, db, row: PCRVersion, status_code=200, errors=None, values=None, done=None):
    t = _t(request)
    view = pcr_registry.version_view(db, user.principal, row.pcr_id, row.version)
    document = row.document if isinstance(row.document, dict) else {}
    problems = check_problems(t, document) if row.published_at is None else []
    today = pcr_registry.today_utc()
    return page(
        request,
        "pcr/authoring/version.html",
        user,
        status_code,
        view=view,
        url=_url(row),
        problems=problems,
        changes=_changes(db, user, row),
        based_on_exists=row.based_on is not None,
        unanswered=sum(c["state"] == "open" for c in view["comments"]),
        can_close=row.consultation_until is None or today > row.consultation_until,
        supersedes=[
            v["version"]
            for v in pcr_registry.list_versions(db, user.principal, row.pcr_id)
            if v["status"] == PCRState.PUBLISHED.value and v["version"] != row.version
        ],
        comment_anchor=lambda path: comment_anchor(document, path),
        bg_links=background_links(db, document, t.lang),
        today=today.isoformat(),
        errors=errors or {},
        values=values or {},
        field_id=field_id,
        shown=lambda value: _json_text(value),
        when=when,
        notice=_notice(t, done),
    )


def _json_text(value) -> str:
    """A value of a change as a person reads it (the template escapes it)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:600]


@router.get(BASE + "/{pcr_id}/{version}")
def version_page(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn, done: str | None = None):
    row = _version(db, user, pcr_id, version)
    return _overview(request, user, db, row, done=done)


def _day(t, data: dict, name: str, errors: dict, required: bool = True) -> date | None:
    text = data.get(name, "")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        if required:
            errors[name] = [t("pcra.err.required")]
        return None
    if len(text) == 10:  # YYYY-MM-DD, as <input type=date> sends it
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors[name] = [t("pcra.err.date")]
    return None


def _text_value(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class Step:
    """How a step's form is read back: the service's field names as the form's error keys (the rest at `default`),
    and the form's values shown again when it is refused."""

    default: str
    fields: tuple[tuple[str, str], ...] = ()
    shown: tuple[tuple[str, str], ...] = ()  # (form key, field of the request)

    def key(self, name: str) -> str:
        return dict(self.fields).get(name, self.default)


def _step(request: Request, user: PageUser, db: Session, pcr_id: str, version: str, data: dict, act, step: Step):
    """One step of the life cycle from the overview's forms: done (back to the overview), or refused with the
    reasons at the form's inputs in the reader's language, nothing changed."""
    t = _t(request)
    row = _version(db, user, pcr_id, version)
    errors: dict[str, list[str]] = {}
    values = {key: _text_value(data, name)[:MAX_TEXT_CHARS] for key, name in step.shown}
    try:
        done = act(t, row, errors)
        if done is not None:
            return RedirectResponse(f"{_url(row)}?done={done}", status_code=303)
        status = 422
    except NotFound:
        raise
    except ServiceError as exc:
        db.rollback()
        status = exc.status
        if exc.code == "pcr.error.not_clean":  # the problems themselves are listed by the page's check
            errors[step.default] = [t("pcra.err.not_clean", n=len(exc.errors))]
        else:
            for name, reasons in _service_errors(t, exc, tuple(dict(step.fields))).items():
                errors.setdefault(step.key(name), []).extend(reasons)
    db.refresh(row)
    return _overview(request, user, db, row, status, errors, values)


@router.post(BASE + "/{pcr_id}/{version}/consultation")
async def open_consultation(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """The draft, checked in full, goes out for public comment until the stated day (its authors' step)."""
    data = await session.form(request, user)

    def act(t, row, errors):
        until = _day(t, data, "consultation_until", errors)
        if errors:
            return None
        pcr_registry.open_consultation(db, user.principal, row.pcr_id, row.version, until)
        return "consultation"

    step = Step("consultation_until", shown=(("consultation_until", "consultation_until"),))
    return await run_in_threadpool(_step, request, user, db, pcr_id, version, data, act, step)


@router.post(BASE + "/{pcr_id}/{version}/close")
async def close_consultation(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """The comments go to review, once the stated period has ended (the chair's step)."""
    data = await session.form(request, user)

    def act(t, row, errors):
        pcr_registry.close_consultation(db, user.principal, row.pcr_id, row.version)
        return "closed"

    return await run_in_threadpool(_step, request, user, db, pcr_id, version, data, act, Step("close"))


@router.post(BASE + "/{pcr_id}/{version}/comments/{comment_id}/answer")
async def answer_comment(
    request: Request, pcr_id: str, version: str, comment_id: uuid.UUID, db: SessionDep, user: SignedIn
):
    """The chair's answer to one comment: accepted, or rejected with the reason (published with the version)."""
    data = await session.form(request, user)
    prefix = f"c-{comment_id}"

    def act(t, row, errors):
        decision, reason = _text_value(data, "decision"), _text_value(data, "reason")
        if decision not in pcr_registry.ANSWERS:
            errors[f"{prefix}.decision"] = [t("pcra.err.decision")]
        elif decision == "rejected" and not reason:
            errors[f"{prefix}.reason"] = [t("pcra.err.reason_required")]
        elif len(reason) > pcr_registry.MAX_REASON_CHARS:
            errors[f"{prefix}.reason"] = [t("pcra.err.too_long", max=pcr_registry.MAX_REASON_CHARS)]
        if errors:
            return None
        pcr_registry.answer(db, user.principal, row.pcr_id, row.version, comment_id, decision, reason)
        return "answered"

    step = Step(
        f"{prefix}.decision",
        (("reason", f"{prefix}.reason"),),
        ((f"{prefix}.decision", "decision"), (f"{prefix}.reason", "reason")),
    )
    return await run_in_threadpool(_step, request, user, db, pcr_id, version, data, act, step)


@router.post(BASE + "/{pcr_id}/{version}/publish")
async def publish(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """Publication with its dates: offered on the page only when every comment is answered; the service decides."""
    data = await session.form(request, user)

    def act(t, row, errors):
        effective = _day(t, data, "effective_from", errors)
        valid = _day(t, data, "valid_until", errors)
        transition = _day(t, data, "transition_until", errors, required=False)
        if errors:
            return None
        pcr_registry.publish(db, user.principal, row.pcr_id, row.version, effective, valid, transition)
        return "published"

    dates = ("effective_from", "valid_until", "transition_until")
    step = Step("publish", tuple((d, d) for d in dates), tuple((d, d) for d in dates))
    return await run_in_threadpool(_step, request, user, db, pcr_id, version, data, act, step)


@router.post(BASE + "/{pcr_id}/{version}/withdraw")
async def withdraw(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """The chair ends the version, with the reason (a draft abandoned, a published version no longer applied)."""
    data = await session.form(request, user)

    def act(t, row, errors):
        reason = _text_value(data, "withdraw_reason")
        if not reason:
            errors["withdraw_reason"] = [t("pcra.err.required")]
        elif len(reason) > pcr_registry.MAX_REASON_CHARS:
            errors["withdraw_reason"] = [t("pcra.err.too_long", max=pcr_registry.MAX_REASON_CHARS)]
        if errors:
            return None
        pcr_registry.withdraw(db, user.principal, row.pcr_id, row.version, reason)
        return "withdrawn"

    step = Step("withdraw_reason", shown=(("withdraw_reason", "withdraw_reason"),))
    return await run_in_threadpool(_step, request, user, db, pcr_id, version, data, act, step)


# --- the editor ----------------------------------------------------------------------------------------------------


def _revisable(db: Session, user: PageUser, row: PCRVersion) -> IllegalTransition | None:
    """Why this person may not change the version's document now (a published version never changes)."""
    try:
        check_work(PCRState(row.state), "revise", pcr_registry.parties(db, user.principal, row))
    except IllegalTransition as exc:
        return exc
    return None


def _refuse_editing(request, user, db, row):
    exc = _revisable(db, user, row)
    if exc is None:
        return None
    return _refusal(request, user, pcr_registry.refused(exc, "document"))


def _editor(
    request: Request,
    user: PageUser,
    row: PCRVersion,
    document: dict,
    problems: list[Problem],
    status_code: int = 200,
    notice: str | None = None,
    focus: str | None = None,
    unsaved: bool = False,
):
    """The editor drawing `document` (stored, or as typed), with every problem at its input."""
    t = _t(request)
    return page(
        request,
        "pcr/authoring/edit.html",
        user,
        status_code,
        row=row,
        url=_url(row),
        doc=document,
        sections=SECTIONS,
        notes_field=NOTES,
        notes_zh_field=NOTES_ZH,
        classification_field=CLASSIFICATION,
        require_one_of_field=REQUIRE_ONE_OF,
        item_fields=ITEM_FIELDS,
        background_fields=BACKGROUND_FIELDS,
        search_url=SEARCH_URL,
        parameter_fields=PARAMETER_FIELDS,
        choice_fields=CHOICE_FIELDS,
        absent_fields=WHEN_ABSENT_FIELDS,
        choices=options(t, document),
        errors=by_anchor(problems),
        summary=problems,
        field_id=field_id,
        shown=shown,
        dig=dig,
        general_value=general_value,
        with_current=with_current,
        formulas=FORMULAS,
        formula_of=formula_of,
        formula_unit=lambda unit, item: formula_unit(unit, item, pcr_registry.vocabulary()),
        offered_inputs=offered_inputs,
        setting_options=setting_options,
        parameter_ids=lambda item: parameter_ids(document, item),
        units=inventory_pages.UNIT_CHOICES,
        notice=notice,
        focus=focus,
        unsaved=unsaved,
        refused=status_code >= 400,
    )


@router.get(BASE + "/{pcr_id}/{version}/edit")
def edit_page(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn, done: str | None = None):
    row = _version(db, user, pcr_id, version)
    refusal = _refuse_editing(request, user, db, row)
    if refusal is not None:
        return refusal
    t = _t(request)
    document = row.document if isinstance(row.document, dict) else {}
    problems = check_problems(t, document)
    notice = _notice(t, done, n=len(problems)) if done != "saved" or problems else t("pcra.done.saved_clean")
    return _editor(request, user, row, document, problems, notice=notice)


def _focus(verb: str, target: str, document: dict) -> str | None:
    """The input a list change leads to: the new row's first input, or the moved row."""
    if verb == "add":
        rows = dig(document, target)
        return field_id(f"{target}[{len(rows) - 1}]") if isinstance(rows, list) and rows else None
    if verb == "offer":
        path = target.partition("|")[0]
        rows = _as_list(dig(document, f"{path}.parameters"))
        return field_id(f"{path}.parameters[{len(rows) - 1}]") if rows else None
    if verb in ("up", "down"):
        found = re.match(r"^(.*)\[(\d+)\]$", target)
        if found:
            moved = int(found.group(2)) + (-1 if verb == "up" else 1)
            return field_id(f"{found.group(1)}[{max(moved, 0)}]")
    return None


def _save(request: Request, user: PageUser, db: Session, pcr_id: str, version: str, form: dict):
    t = _t(request)
    row = _version(db, user, pcr_id, version)
    refusal = _refuse_editing(request, user, db, row)
    if refusal is not None:
        return refusal
    action = form.get("action", "save")
    found = ACTION.match(action if isinstance(action, str) else "")
    reading = Reading(form)
    typed = read_document(reading, row.pcr_id, row.version)
    if (
        found is None
        or (found.group(1) == "find" and not _input_item(typed, found.group(2)))
        or (
            found.group(1) not in ("save", "find")
            and not change_rows(typed, found.group(1), found.group(2), pcr_registry.vocabulary())
        )
    ):
        reading.error("(document)", "pcra.err.action")
    if reading.errors:
        return _editor(request, user, row, typed, reading_problems(t, reading, typed), 422)
    document, kept = cleaned(typed)
    document = _without_empty_translations(document)
    if found.group(1) not in ("save", "find"):  # a list change: the form again, nothing stored
        problems = check_problems(t, document, kept, typed)
        focus = _focus(found.group(1), found.group(2), typed)
        return _editor(request, user, row, typed, problems, notice=t("pcra.edit.unsaved"), focus=focus, unsaved=True)
    try:
        pcr_registry.replace_document(db, user.principal, row.pcr_id, row.version, document)
    except ServiceError as exc:  # too large, or the version left draft meanwhile
        db.rollback()
        if isinstance(exc, Conflict | Forbidden):
            return _refusal(request, user, exc)
        problems = [Problem("(document)", pcr_registry.refusal_in(t, exc), "(document)")]
        return _editor(request, user, row, typed, problems, exc.status)
    if found.group(1) == "find":
        return RedirectResponse(_search_for(row, typed, kept, found.group(2), t.lang), status_code=303)
    return RedirectResponse(f"{_url(row)}/edit?done=saved", status_code=303)


@router.post(BASE + "/{pcr_id}/{version}/edit")
async def save(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """Save (replace_document; the check's problems are shown at their inputs), or a list change of the form."""
    form = await session.form(request, user)
    return await run_in_threadpool(_save, request, user, db, pcr_id, version, form)


# --- an input item's background activity, chosen in the activity search ------------------------------------------


def _input_item(document: dict, target: str) -> dict | None:
    """The input item at `items[N]` of the form, or None."""
    item = dig(document, target) if ITEM_PATH.match(target) else None
    return item if isinstance(item, dict) and item.get("kind") == ItemKind.INPUT.value else None


def _search_for(row: PCRVersion, typed: dict, kept: dict, target: str, lang: str) -> str:
    """The activity search for an item of the draft just saved: its row in the stored document (empty rows of the
    form are not stored), its name as the search's first words and its label on the search page."""
    form_index = int(ITEM_PATH.match(target).group(1))
    rows = kept.get("items") or []
    stored = rows.index(form_index) if form_index in rows else form_index
    item = _input_item(typed, target) or {}
    link = item.get("background") if isinstance(item.get("background"), dict) else {}
    query = {
        "pcr": row.pcr_id,
        "pcr_version": row.version,
        "item": str(stored),
        "label": _label(item, lang)[:100],
        "q": str(link.get("name") or item.get("label") or "")[:100],
        **({"database": str(link["database"])[:100]} if link.get("database") else {}),
    }
    return f"{SEARCH_URL}?{urlencode(query)}"


def _link(request: Request, user: PageUser, db: Session, pcr_id: str, version: str, form: dict):
    """Stores the activity chosen in the search as the item's `background`, from the activity's own record (its
    code, unit and name as imported; a version pinned only when the form names one), and returns to the editor."""
    row = _version(db, user, pcr_id, version)
    refusal = _refuse_editing(request, user, db, row)
    if refusal is not None:
        return refusal
    document = json.loads(json.dumps(row.document if isinstance(row.document, dict) else {}))
    index = _text_value(form, "item")
    # ASCII digits, few: '²' passes str.isdigit() and int() refuses it, 5,000 digits exceed int()'s limit
    index = index if index.isascii() and index.isdigit() and len(index) <= 6 else ""
    item = _input_item(document, f"items[{index}]") if index else None
    database, code = _text_value(form, "database")[:100], _text_value(form, "activity")[:200]
    pinned = _text_value(form, "version")[:64] or None
    if item is None:
        reason = "bg.link.no_item" if not index or dig(document, f"items[{index}]") is None else "bg.link.not_input"
        return _refusal(request, user, Unprocessable("no input item to link", code=reason))
    found = backgrounds.activity(db, database, code, pinned)
    if found is None:
        return _refusal(request, user, Unprocessable("no such background activity", code="bg.link.no_activity"))
    item["background"] = {
        "database": database,
        "activity": found.code,
        "unit": found.unit,
        "name": found.name,
        **({"version": pinned} if pinned else {}),
    }
    try:
        pcr_registry.replace_document(db, user.principal, row.pcr_id, row.version, document)
    except ServiceError as exc:
        db.rollback()
        return _refusal(request, user, exc)
    return RedirectResponse(f"{_url(row)}/edit?done=linked#{field_id(f'items[{index}]')}", status_code=303)


@router.post(BASE + "/{pcr_id}/{version}/background")
async def link_background(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """An input item of the draft takes the background activity chosen on the search page."""
    form = await session.form(request, user)
    return await run_in_threadpool(_link, request, user, db, pcr_id, version, form)


def background_links(db: Session, document: dict, lang: str) -> list[dict]:
    """The document's input items linked to a background activity, each with whether this deployment has that
    activity (else the footprint takes the item's factor-set activity): for the preview and the version page."""
    links = []
    for item in _as_list(document.get("items")):
        link = item.get("background") if isinstance(item, dict) else None
        if not isinstance(link, dict) or not link.get("database") or not link.get("activity"):
            continue
        pinned = str(link["version"]) if link.get("version") else None
        found = backgrounds.activity(db, str(link["database"]), str(link["activity"]), pinned)
        links.append({"item": item, "label": _label(item, lang), "link": link, "available": found is not None})
    return links


# --- what manufacturers will get ---------------------------------------------------------------------------------


def _as_pcr(row: PCRVersion) -> PCR | None:
    try:
        return PCR.model_validate(row.document)
    except ValidationError:
        return None


def _preview(request: Request, user: PageUser, db: Session, pcr_id: str, version: str):
    t = _t(request)
    row = _version(db, user, pcr_id, version)
    pcr = _as_pcr(row)
    if pcr is None:
        problems = check_problems(t, row.document if isinstance(row.document, dict) else {})
        return page(request, "pcr/authoring/unready.html", user, 422, url=_url(row), row=row, problems=problems)
    stand_in = SimpleNamespace(id="preview", name=inventory_pages.pcr_title(pcr, t.lang), gtin=None, model=None)
    facility = SimpleNamespace(id="preview", name=t("pcra.preview.facility"), province="Guizhou")
    cap_rows = 1 if pcr.electricity.captive_fuels else 0
    return page(
        request,
        "pcr/authoring/preview.html",
        user,
        url=_url(row),
        row=row,
        product=stand_in,
        facilities=[facility],
        values={},
        errors={"": []},
        summary=[],
        source=None,
        gec_rows=1,
        co_rows=1,
        cap_rows=cap_rows,
        labels={},
        bg_links=background_links(db, row.document, t.lang),
        **inventory_pages.form_context(t, pcr),
    )


@router.get(BASE + "/{pcr_id}/{version}/preview")
def preview(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """The inventory form this version gives manufacturers, as they will see it (read-only here)."""
    return _preview(request, user, db, pcr_id, version)


@router.get(BASE + "/{pcr_id}/{version}/template.xlsx")
def template(request: Request, pcr_id: str, version: str, db: SessionDep, user: SignedIn):
    """The Excel inventory template this version generates (services.excel), for a draft too."""
    row = _version(db, user, pcr_id, version)
    pcr = _as_pcr(row)
    if pcr is None:
        t = _t(request)
        problems = check_problems(t, row.document if isinstance(row.document, dict) else {})
        return page(request, "pcr/authoring/unready.html", user, 422, url=_url(row), row=row, problems=problems)
    return Response(
        excel.template(pcr),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{pcr.id}-{pcr.version}-inventory.xlsx"',
            "Cache-Control": "no-store",
        },
    )
