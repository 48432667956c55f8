"""A PCR as the document a standards body publishes: its rules, its life-cycle record (status, issuer, dates), the
comments of the public consultation with the committee's answers, and what changed from the previous version.

One structure (`Section`s of fields, entries and tables of plain text) is built once per language and rendered by
two back-ends, the PDF here and the pages' Jinja template (`web/templates/pcr/_sections.html`), so they cannot drift
apart. The document is bilingual: headings and field names in the reader's language with the other language beside
them, codes (kinds, stages, methods, statuses) named in the reader's language, item and parameter names from the
PCR's `label` / `label_zh`. The rules' own prose (boundary, cut-off, allocation, standards, notes) prints in the
reader's language where the standards body wrote it so (the `*_zh` texts), else as written.

Every user-written string (the PCR's text, issuer, comments, reasons) stays plain text in the structure; the PDF
escapes it for reportlab's Paragraph markup (`<`, `>`, `&`), the template's autoescape does so for HTML.
"""

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from footprint_api.core.messages import LANGUAGES, Catalogue, catalogue
from footprint_api.exports.report import GREEN, cjk_face
from label_service.pdf import REPORTLAB
from label_service.render import find_font
from pcr_rules.diff import Change, diff
from pcr_rules.models import PCR, Choice, ItemSpec, ParameterRef, ParameterSpec, Range, in_language

GREY = colors.HexColor("#555555")
PALE_GREEN = colors.HexColor("#e8f2ec")
NOTE_BACKGROUND = colors.HexColor("#f6f6f6")
# column widths (mm) of each table; each row sums to the report's PAGE_WIDTH_MM (A4 less the margins)
WIDTHS_MM = {
    "parameters": [48, 16, 16, 60, 34],
    "items": [36, 21, 12, 14, 20, 36, 35],
    "comments": [38, 52, 26, 18, 40],
    "changes": [46, 14, 57, 57],
    "fields": [58, 116],
}
# a heading starts a new page when less than this is left below it, or less than its table's header and first row
# need: no heading alone at the foot of a page
HEADING_ROOM_MM = 40
CELL_PADDING = 3  # points, left and right in every table cell
PATH_TABLES = ("comments", "changes")  # tables whose first column is a path
_ITEM_PATH = re.compile(r"^items\[[+-]?([^\]]+)\]")


# --- the structure both renderings share ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A main line and a quieter second one: a heading and its name in the other language, an item's name and its
    id. Plain text; a newline is a line break."""

    main: str
    sub: str = ""


@dataclass(frozen=True)
class Field:
    label: Text
    value: str | list[str]


@dataclass(frozen=True)
class Row:
    cells: list[Text]
    note: str = ""  # spans the row's width under it (an item's note)


@dataclass(frozen=True)
class Grid:
    columns: list[Text]
    rows: list[Row]
    label: str = ""  # the table's own name ("表格：清单项"), apart from its section's heading


@dataclass(frozen=True)
class Section:
    key: str  # also the anchor of the section on a page
    heading: Text
    fields: list[Field] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    table: Grid | None = None
    empty: str = ""  # what the section says when it has nothing to list


class PcrComment(NamedTuple):
    """A consultation comment on a section or item (`path` as in `pcr_rules.diff`: `boundary`, `items[alumina]`)
    and the committee chair's answer: "accepted" or "rejected" with the reason; None (or "open") while unanswered."""

    path: str
    text: str
    author_org: str
    answer: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PcrRecordView:
    """What the PCR registry knows of one version beyond its rules, as the document prints it. `status` is a state
    of the PCR life cycle (`pcr_rules.lifecycle.PCRState`: draft, consultation, review, published, superseded,
    expired, withdrawn); `superseded_by` the version that replaces it; `previous_version` the rules this version
    revises (a PCR or its JSON), for the list of changes. `issuer_name` is empty for a version no standards body
    issued: `seeded` says it was loaded from the platform's seed data."""

    status: str
    issuer_name: str
    published_at: date | None = None
    effective_from: date | None = None
    valid_until: date | None = None
    superseded_by: str | None = None
    transition_until: date | None = None
    comments: list[PcrComment | tuple] = field(default_factory=list)
    previous_version: PCR | dict | None = None
    seeded: bool = False

    @property
    def based_on(self) -> str | None:
        """The version number of `previous_version`."""
        previous = self.previous_version
        if previous is None:
            return None
        return previous.version if isinstance(previous, PCR) else str(previous.get("version", ""))


# --- words in the reader's language ---------------------------------------------------------------------------------


class _Words:
    def __init__(self, lang: str):
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
        self.lang = lang
        self.t: Catalogue = catalogue(lang)
        self.other: Catalogue = catalogue(next(other for other in LANGUAGES if other != lang))

    def prose(self, model, name: str):
        """The PCR's own text (or list of texts) in the reader's language where its authors wrote it so."""
        return in_language(model, name, self.lang)

    def both(self, key: str, **values: object) -> Text:
        """A heading or field name in the reader's language, with the other language as its second line."""
        return Text(self.t(key, **values), self.other(key, **values))

    def code(self, key: str, code: object) -> str:
        """A code's name in the reader's language; the code itself where the catalogue has none."""
        return self.t.messages.get(f"{key}.{code}", str(code))

    def listed(self, names: Iterable[str]) -> str:
        """Names in a sentence: 风电、光伏 on a Chinese page, wind, solar PV on an English one."""
        return ("、" if self.lang == "zh" else ", ").join(names) or self.t("pcr.doc.none")

    def yes_no(self, value: bool) -> str:
        return self.t("pcr.doc.yes" if value else "pcr.doc.no")

    def name(self, thing: ItemSpec | ParameterSpec | Choice | dict) -> Text:
        """An item's, parameter's or choice's name in the reader's language, and in the other one where it
        differs."""
        get = thing.get if isinstance(thing, dict) else lambda key: getattr(thing, key)
        english, chinese = get("label"), get("label_zh") or get("label")
        main, sub = (chinese, english) if self.lang == "zh" else (english, chinese)
        return Text(main, "" if sub == main else sub)


def _number(value: float) -> str:
    """Plain decimals, as written in the rules: 12000, 0.05, 0.00001 (never 1.2e+04 or 1e-05)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(share: float) -> str:
    return f"{_number(share * 100)} %"


def _range(bounds: Range | None) -> str:
    if bounds is None or (bounds.min is None and bounds.max is None):
        return "—"
    if bounds.min is None:
        return f"≤ {_number(bounds.max)}"
    if bounds.max is None:
        return f"≥ {_number(bounds.min)}"
    return f"{_number(bounds.min)}–{_number(bounds.max)}"


def _setting(value: object, w: _Words) -> str:
    """A formula setting: a number, a code, or the parameter the inventory states it by."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, ParameterRef):
        return w.t("pcr.doc.from_parameter", id=value.parameter)
    return str(value)


def _config(config: dict, w: _Words) -> str:
    values = ", ".join(f"{k}: {_setting(v, w)}" for k, v in config.items())
    return f" ({values})" if values else ""


def _values(p: ParameterSpec, w: _Words) -> str:
    """What a parameter may be: its range, or its choices (code and name), and its default."""
    text = "; ".join(f"{c.value} {w.name(c).main}" for c in p.choices) if p.choices else _range(p.range)
    if p.default is not None:
        text += f"; {w.t('pcr.doc.default', value=_setting(p.default, w))}"
    return text


def _day(value: date | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def _issuer(record: PcrRecordView, w: _Words) -> str:
    """The standards body that issued the version; for seed data, that the platform loaded it; else nothing."""
    if record.issuer_name:
        return record.issuer_name
    return w.t("pcr.doc.seeded") if record.seeded else ""


def pcr_title(pcr: PCR, lang: str) -> Text:
    """'电解铝产品种类规则' on a Chinese page, 'Product category rules: primary aluminium' on an English one, with the
    other language as the second line."""
    w = _Words(lang)

    def title(t: Catalogue) -> str:
        own = pcr.product_category_label_zh if t.lang == "zh" else pcr.product_category_label
        named = t.messages.get(f"pcr.category.{pcr.product_category}") or own or pcr.product_category_label
        return t("pcr.doc.title", category=named or pcr.product_category)

    return Text(title(w.t), title(w.other))


# --- the sections ---------------------------------------------------------------------------------------------------


def _document(pcr: PCR, record: PcrRecordView | None, w: _Words) -> Section:
    values = [("id", pcr.id), ("version", pcr.version), ("title", in_language(pcr, "title", w.lang))]
    if record:
        values += [
            ("status", w.code("pcr.status", record.status)),
            ("issuer", _issuer(record, w)),
            ("published_at", _day(record.published_at)),
            ("effective_from", _day(record.effective_from)),
            ("valid_until", _day(record.valid_until)),
            ("superseded_by", record.superseded_by or ""),
            ("transition_until", _day(record.transition_until)),
            ("previous_version", record.based_on or ""),
        ]
    fields = [Field(w.both(f"pcr.field.{key}"), value) for key, value in values if value]
    return Section("document", w.both("pcr.section.document"), fields=fields)


def _scope(pcr: PCR, w: _Words) -> Section:
    unit = pcr.declared_unit
    description = unit.description_zh if w.lang == "zh" and unit.description_zh else unit.description
    fields = [
        Field(w.both("pcr.field.product_category"), f"{w.code('pcr.category', pcr.product_category)}"),
        Field(w.both("pcr.field.declared_unit"), f"{_number(unit.amount)} {unit.unit}: {description}"),
        Field(w.both("pcr.field.max_reference_period_days"), str(pcr.max_reference_period_days)),
    ]
    if pcr.classification:  # the parameters whose values make the product class (comparable footprints)
        named = [w.name(p).main for p in map(pcr.parameter, pcr.classification) if p is not None]
        fields.append(Field(w.both("pcr.field.classification"), w.listed(named)))
    return Section("scope", w.both("pcr.section.scope"), fields=fields)


def _boundary(pcr: PCR, w: _Words) -> Section:
    fields = [
        Field(w.both("pcr.field.boundary_type"), w.code("pcr.boundary", pcr.boundary.type)),
        Field(w.both("pcr.field.included"), list(w.prose(pcr.boundary, "included"))),
        Field(w.both("pcr.field.excluded"), list(w.prose(pcr.boundary, "excluded")) or w.t("pcr.doc.none")),
    ]
    return Section("boundary", w.both("pcr.section.boundary"), fields=fields)


def _cut_off(pcr: PCR, w: _Words) -> Section:
    fields = [
        Field(w.both("pcr.field.cut_off_rule"), w.prose(pcr.cut_off, "rule")),
        Field(w.both("pcr.field.max_single_share"), _percent(pcr.cut_off.max_single_share)),
        Field(w.both("pcr.field.max_total_share"), _percent(pcr.cut_off.max_total_share)),
    ]
    return Section("cut_off", w.both("pcr.section.cut_off"), fields=fields)


def _allocation(pcr: PCR, w: _Words) -> Section:
    fields = [
        Field(w.both("pcr.field.allocation_method"), w.code("pcr.allocation", pcr.allocation.method)),
        Field(w.both("pcr.field.justification"), w.prose(pcr.allocation, "justification")),
    ]
    return Section("allocation", w.both("pcr.section.allocation"), fields=fields)


def _data_quality(pcr: PCR, w: _Words) -> Section:
    rule = pcr.data_quality
    forbidden = [w.name(pcr.item(i)).main if pcr.item(i) else i for i in rule.forbid_screening_factors_for]
    fields = [
        Field(w.both("pcr.field.max_dqr"), _number(rule.max_dqr)),
        Field(w.both("pcr.field.primary_relative_sd"), _percent(rule.default_primary_relative_sd)),
        Field(w.both("pcr.field.secondary_relative_sd"), _percent(rule.default_secondary_relative_sd)),
        Field(w.both("pcr.field.forbid_screening_factors_for"), forbidden or w.t("pcr.doc.none")),
    ]
    return Section("data_quality", w.both("pcr.section.data_quality"), fields=fields)


def _electricity(pcr: PCR, w: _Words) -> Section:
    rule = pcr.electricity
    captive = [f"{w.code('inv.fuel', fuel)} ({unit})" for fuel, unit in rule.captive_fuels.items()]
    fields = [
        Field(w.both("pcr.field.reported_method"), w.code("code.method", rule.reported_method)),
        Field(w.both("pcr.field.gec_allowed"), w.yes_no(rule.gec_allowed)),
        Field(
            w.both("pcr.field.eligible_technologies"),
            w.listed(w.code("inv.tech", t) for t in rule.eligible_technologies),
        ),
        Field(w.both("pcr.field.certificate_validity_months"), str(rule.certificate_validity_months)),
        Field(w.both("pcr.field.location_level"), w.code("pcr.location_level", rule.location_level)),
        Field(w.both("pcr.field.captive_fuels"), captive or w.t("pcr.doc.none")),
    ]
    return Section("electricity", w.both("pcr.section.electricity"), fields=fields)


def _measured_emissions(pcr: PCR, w: _Words) -> Section:
    rule = pcr.measured_emissions
    fields = [
        Field(w.both("pcr.field.allowed_gases"), w.listed(g.upper() for g in rule.allowed_gases)),
        Field(w.both("pcr.field.methods"), w.listed(rule.methods)),
        Field(w.both("pcr.field.require_sources"), w.yes_no(rule.require_sources)),
    ]
    return Section("measured_emissions", w.both("pcr.section.measured_emissions"), fields=fields)


def _method(item: ItemSpec, w: _Words) -> Text:
    """How the item's emissions are found: its background activity, fuel or formula, and the default method when an
    optional process item is not given."""
    lines = []
    if item.formula:
        lines.append(w.t("pcr.doc.formula", code=item.formula) + _config(item.formula_config, w))
    if item.fuel:
        lines.append(w.t("pcr.doc.fuel", code=item.fuel, sector=w.code("pcr.sector", item.sector)))
    if item.background:
        lines += _background(item, w)
    elif item.activity:
        lines.append(w.t("pcr.doc.activity", code=item.activity))
    absent = item.when_absent
    sub = ""
    if absent:
        sub = w.t(
            "pcr.doc.when_absent",
            formula=absent.formula + _config(absent.formula_config, w),
            dqr=_number(absent.dqr),
            rsd=_percent(absent.relative_sd),
        )
    return Text("\n".join(lines) or "—", sub)


def _background(item: ItemSpec, w: _Words) -> list[str]:
    """An input item linked to an activity of an imported database: the activity and its database (the version
    where the link pins one), then the rule where a deployment lacks that database: the factor set's screening
    activity, which the footprint then takes (lca_models.foreground, with a data gap saying so)."""
    link = item.background
    name = link.name or link.activity
    if link.version:
        shown = w.t("bg.doc.background_version", name=name, database=link.database, version=link.version)
    else:
        shown = w.t("bg.doc.background", name=name, database=link.database)
    return [shown, w.t("bg.doc.fallback", activity=item.activity)]


def _parameters(item: ItemSpec, w: _Words) -> Text:
    """One line per parameter: its name, id, unit (none for a fraction) and range; a bullet each where there are
    several."""
    bullet = "•\u00a0" if len(item.parameters) > 1 else ""  # the bullet stays with the name
    lines = []
    for p in item.parameters:
        unit = "" if p.unit == "dimensionless" else f", {p.unit}"
        required = f", {w.t('pcr.doc.parameter_required')}" if p.required else ""
        lines.append(f"{bullet}{w.name(p).main} ({p.id}{unit}{required}): {_values(p, w)}")
    return Text("\n".join(lines) or "—")


def _item_row(item: ItemSpec, w: _Words) -> Row:
    name = w.name(item)
    notes = [n for n in (w.prose(item, "note"), w.prose(item.when_absent, "note") if item.when_absent else None) if n]
    return Row(
        [
            Text(name.main, f"{name.sub}\n{item.id}" if name.sub else item.id),
            Text(w.code("inv.kind", item.kind.value), w.code("code.stage", item.stage.value)),
            Text(item.unit),
            Text(
                w.t("pcr.doc.required" if item.required else "pcr.doc.optional"),
                "\n".join(
                    ([w.t("pcr.doc.primary_data")] if item.primary_data_required else [])
                    + ([w.t("pcr.doc.required_with", items=w.listed(item.required_with))] if item.required_with else [])
                ),
            ),
            Text(_range(item.plausible_per_declared_unit)),
            _method(item, w),
            _parameters(item, w),
        ],
        note="\n".join(notes),
    )


def _system_parameters(pcr: PCR, w: _Words) -> Section:
    """Parameters of the whole product system, stated once per inventory (e.g. the pot-cell technology)."""
    rows = [_system_parameter_row(p, w) for p in pcr.parameters]
    columns = [w.both(f"pcr.column.{c}") for c in ("parameter", "unit", "required", "values", "default")]
    return Section(
        "parameters",
        w.both("pcr.section.parameters"),
        table=Grid(columns, rows) if rows else None,
        empty="" if rows else w.t("pcr.doc.none"),
    )


def _system_parameter_row(p, w: _Words) -> Row:
    """One product-system parameter: its name and id, unit, whether required, its values, and its default."""
    name = w.name(p)
    return Row(
        [
            Text(name.main, f"{name.sub}\n{p.id}" if name.sub else p.id),
            Text("" if p.unit == "dimensionless" else p.unit),
            Text(w.t("pcr.doc.required" if p.required else "pcr.doc.optional")),
            Text("\n".join(f"{c.value}: {w.name(c).main}" for c in p.choices) or _range(p.range)),
            Text("" if p.default is None else _setting(p.default, w), p.default_source or ""),
        ]
    )


def _items(pcr: PCR, w: _Words) -> Section:
    columns = ["item", "kind_stage", "unit", "required", "range", "method", "parameters"]
    grid = Grid([w.both(f"pcr.column.{c}") for c in columns], [_item_row(item, w) for item in pcr.items])
    groups = [w.t("pcr.doc.one_of", items=w.listed(group)) for group in pcr.require_one_of]
    fields = [Field(w.both("pcr.field.require_one_of"), groups)] if groups else []
    return Section("items", w.both("pcr.section.items"), fields=fields, table=grid)


def _path(path: str, pcrs: list[PCR], w: _Words) -> Text:
    """A path with the name of the item it points into, from whichever version has the item."""
    match = _ITEM_PATH.match(path)
    item = next((p.item(match.group(1)) for p in pcrs if match and p.item(match.group(1))), None)
    return Text(path, w.name(item).main if item else "")


def _comments(pcr: PCR, record: PcrRecordView, w: _Words) -> Section:
    rows = []
    for comment in (PcrComment(*c) for c in record.comments):
        answer = w.code("pcr.answer", comment.answer if comment.answer not in (None, "open") else "pending")
        rows.append(
            Row(
                [
                    _path(comment.path, [pcr], w),
                    Text(comment.text),
                    Text(comment.author_org),
                    Text(answer),
                    Text(comment.reason),
                ]
            )
        )
    columns = [w.both(f"pcr.column.{c}") for c in ("path", "comment", "author", "answer", "reason")]
    return Section(
        "comments",
        w.both("pcr.section.comments"),
        table=Grid(columns, rows) if rows else None,
        empty="" if rows else w.t("pcr.doc.no_comments"),
    )


# changed values that are codes of the PCR language, by the field they are the value of (an item's field without
# its item: `items.kind`), and where the catalogue names them
CODED_FIELDS = {
    "product_category": "pcr.category",
    "boundary.type": "pcr.boundary",
    "allocation.method": "pcr.allocation",
    "electricity.reported_method": "code.method",
    "electricity.eligible_technologies": "inv.tech",
    "electricity.location_level": "pcr.location_level",
    "items.kind": "inv.kind",
    "items.stage": "code.stage",
    "items.sector": "pcr.sector",
}
_KEYS = re.compile(r"\[[^\]]*\]")


def _field_of(path: str) -> str:
    """`items[alumina].kind` -> `items.kind`: the field a changed value belongs to, whichever item it is of."""
    return _KEYS.sub("", path)


def _shown(value: Any, w: _Words, field: str = "") -> str:
    """A changed value as a reader takes it in: a code by its name in the reader's language, an item or parameter
    by its name, a list as its entries. `field`: what the value is of (`_field_of` its path)."""
    if isinstance(value, list):
        return "\n".join(_shown(v, w, field) for v in value)
    if isinstance(value, dict):
        return _shown_mapping(value, w, field)
    return _shown_scalar(value, w, field)


def _shown_scalar(value: Any, w: _Words, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return w.yes_no(value)
    if isinstance(value, float):
        return _number(value)
    return w.code(CODED_FIELDS[field], value) if field in CODED_FIELDS else str(value)


def _shown_mapping(value: dict, w: _Words, field: str) -> str:
    if "id" in value and "label" in value:
        return f"{w.name(value).main} ({value['id']})"
    entries = [(k, v) for k, v in value.items() if v not in (None, [], {})]
    return "; ".join(f"{k}: {_nested(v, w, f'{field}.{k}' if field else k)}" for k, v in entries)


def _nested(value: Any, w: _Words, field: str) -> str:
    return f"({_shown(value, w, field)})" if isinstance(value, dict) else _shown(value, w, field).replace("\n", "; ")


def _changes(pcr: PCR, record: PcrRecordView, w: _Words) -> Section:
    heading = w.both("pcr.section.changes")
    previous = record.previous_version
    if previous is None:
        return Section("changes", heading, empty=w.t("pcr.doc.first_version"))
    changes: list[Change] = _in_reader_language(diff(previous, pcr), w.lang)
    if not changes:
        return Section("changes", heading, empty=w.t("pcr.doc.no_changes"))
    versions = [pcr, previous if isinstance(previous, PCR) else PCR.model_validate(previous)]
    rows = [
        Row(
            [
                _path(c.path, versions, w),
                Text(w.code("pcr.change", c.kind.value)),
                Text(_shown(c.old, w, _field_of(c.path))),
                Text(_shown(c.new, w, _field_of(c.path))),
            ]
        )
        for c in changes
    ]
    columns = [w.both(f"pcr.column.{c}") for c in ("path", "change", "old", "new")]
    return Section("changes", heading, table=Grid(columns, rows))


def _in_reader_language(changes: list[Change], lang: str) -> list[Change]:
    """A change of a text and of its Chinese translation is one change to a reader: on a Chinese page the
    translation's (named by the text's own path: `notes`, not `notes_zh`), on an English page the text's. A
    translation changed alone is listed as it is."""
    translated = {c.path.removesuffix("_zh") for c in changes if c.path.endswith("_zh")}
    written = {c.path for c in changes if not c.path.endswith("_zh")}
    if lang == "zh":
        kept = [
            replace(c, path=c.path.removesuffix("_zh")) if c.path.endswith("_zh") else c
            for c in changes
            if c.path.endswith("_zh") or c.path not in translated
        ]
    else:
        kept = [c for c in changes if not (c.path.endswith("_zh") and c.path.removesuffix("_zh") in written)]
    return [replace(c, old=_texts_in(c.old, lang), new=_texts_in(c.new, lang)) for c in kept]


def _texts_in(value, lang: str):
    """A whole object added or removed (an item, a default method) with its texts in the reader's language: on a
    Chinese page each `x_zh` in place of `x` where written, on an English page without the `_zh` texts."""
    if isinstance(value, list):
        return [_texts_in(v, lang) for v in value]
    if not isinstance(value, dict):
        return value
    shown = {k: _texts_in(v, lang) for k, v in value.items() if not k.endswith("_zh")}
    if lang == "zh":
        shown.update({k.removesuffix("_zh"): v for k, v in value.items() if k.endswith("_zh") and v})
    return shown


def pcr_html_sections(pcr: PCR, lang: str, record: PcrRecordView | None = None) -> list[Section]:
    """The document's sections in order. Without a record: the rules alone (what a page shows beside its own
    status and comment forms); with one: the document's record, the consultation and the changes as well."""
    w = _Words(lang)
    sections = [
        _document(pcr, record, w),
        _scope(pcr, w),
        _boundary(pcr, w),
        _cut_off(pcr, w),
        _allocation(pcr, w),
        _data_quality(pcr, w),
        _electricity(pcr, w),
        _measured_emissions(pcr, w),
        _system_parameters(pcr, w),
        _items(pcr, w),
        Section("standards", w.both("pcr.section.standards"), entries=list(w.prose(pcr, "standards"))),
        Section("notes", w.both("pcr.section.notes"), entries=list(w.prose(pcr, "notes")), empty=w.t("pcr.doc.none")),
    ]
    if record:
        sections += [_comments(pcr, record, w), _changes(pcr, record, w)]
    return [_table_named(section, w) for section in sections]


def _table_named(section: Section, w: _Words) -> Section:
    """A section's table with a name of its own: a page's scrolling region around it must not carry the same name
    as the section (two landmarks named alike)."""
    if section.table is None:
        return section
    return replace(section, table=replace(section.table, label=w.t("pcr.doc.table", heading=section.heading.main)))


# --- the PDF --------------------------------------------------------------------------------------------------------


def _markup(text: str) -> str:
    """Plain text as Paragraph markup: `<`, `>` and `&` escaped, newlines as line breaks."""
    return escape(text).replace("\n", "<br/>")


class _Styles:
    def __init__(self, face: str):
        self.face = face
        # lines break at spaces (reportlab's CJK wrapping, tried, cuts English words inside: "emissi / ons"); a run
        # of Chinese or a code wider than its cell is cut at the cell's edge (splitLongWords)
        self.body = ParagraphStyle("pcr-body", fontName=face, fontSize=9, leading=12.5)
        self.small = ParagraphStyle("pcr-small", parent=self.body, fontSize=7.5, leading=10)
        self.title = ParagraphStyle(
            "pcr-title", parent=self.body, fontSize=17, leading=22, textColor=GREEN, spaceAfter=2
        )
        self.subtitle = ParagraphStyle("pcr-subtitle", parent=self.body, fontSize=10.5, leading=14, textColor=GREY)
        self.heading = ParagraphStyle(
            "pcr-heading",
            parent=self.body,
            fontSize=12,
            leading=16,
            textColor=GREEN,
            spaceBefore=9,
            spaceAfter=4,
        )
        self.entry = ParagraphStyle("pcr-entry", parent=self.body, leftIndent=10, bulletIndent=1, spaceAfter=2)
        self.note = ParagraphStyle("pcr-note", parent=self.small, textColor=GREY)

    def text(self, text: Text, style: ParagraphStyle, bold: bool = False, width_mm: float | None = None) -> Paragraph:
        """`width_mm`: the main line is a path, broken before its dots where it is wider than the cell."""
        main = _at_dots(text.main, style, width_mm) if width_mm else text.main
        main = f"<b>{_markup(main)}</b>" if bold else _markup(main)
        sub = f"<br/><font color='#555555' size='{style.fontSize - 1}'>{_markup(text.sub)}</font>" if text.sub else ""
        return Paragraph(main + sub, style)

    def value(self, value: str | list[str]) -> Paragraph:
        if isinstance(value, list):
            return Paragraph("<br/>".join(f"• {_markup(v)}" for v in value), self.body)
        return Paragraph(_markup(value), self.body)


def _at_dots(path: str, style: ParagraphStyle, width_mm: float) -> str:
    """`items[anode_effect_minutes]` / `.when_absent` on two lines rather than a word cut at the cell's edge; a
    segment wider than the cell is still cut (reportlab's splitLongWords)."""
    width = width_mm * mm - 2 * CELL_PADDING
    lines, line = [], ""
    for part in re.split(r"(?=[.\[])", path):
        if line and stringWidth(line + part, style.fontName, style.fontSize) > width:
            lines.append(line)
            line = part
        else:
            line += part
    return "\n".join([*lines, line])


def _grid(rows: list[list[Flowable]], widths: list[float], header: bool, spans: list[int] = ()) -> Table:
    grid = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    style += [("BACKGROUND", (0, 0), (-1, 0), PALE_GREEN)] if header else [("BACKGROUND", (0, 0), (0, -1), PALE_GREEN)]
    for row in spans:
        style += [("SPAN", (0, row), (-1, row)), ("BACKGROUND", (0, row), (-1, row), NOTE_BACKGROUND)]
    grid.setStyle(TableStyle(style))
    return grid


def _first_rows_height(rows: list[list[Flowable]], widths: list[float]) -> float:
    """Points a table needs for its header and first row: what must fit under a heading on the same page."""
    return Table(rows[:2], colWidths=[w * mm for w in widths]).wrap(sum(widths) * mm, A4[1])[1]


def _table_rows(section: Section, widths: list[float], s: _Styles) -> tuple[list[list], list[int]]:
    """A section's table as cells: its header, each row, and each row's note as a row of its own (whose indexes,
    the spans, are drawn across the table)."""
    rows = [[s.text(c, s.small, bold=True) for c in section.table.columns]]
    spans = []
    for row in section.table.rows:
        path_width = widths[0] if section.key in PATH_TABLES else None
        rows.append([s.text(row.cells[0], s.small, width_mm=path_width)] + [s.text(c, s.small) for c in row.cells[1:]])
        if row.note:
            spans.append(len(rows))
            rows.append([Paragraph(_markup(row.note), s.note)] + [""] * (len(row.cells) - 1))
    return rows, spans


def _section_story(section: Section, s: _Styles) -> list[Flowable]:
    heading = section.heading
    story: list[Flowable] = [
        Paragraph(f"{_markup(heading.main)}  <font color='#555555' size='9'>{_markup(heading.sub)}</font>", s.heading),
    ]
    room = HEADING_ROOM_MM * mm
    if section.fields:
        rows = [[s.text(f.label, s.small), s.value(f.value)] for f in section.fields]
        story.append(_grid(rows, WIDTHS_MM["fields"], header=False))
    story += [Paragraph(_markup(entry), s.entry, bulletText="•") for entry in section.entries]
    if section.table:
        widths = WIDTHS_MM[section.key]
        rows, spans = _table_rows(section, widths, s)
        story.append(_grid(rows, widths, header=True, spans=spans))
        room = max(room, HEADING_ROOM_MM / 2 * mm + _first_rows_height(rows, widths))
    if section.empty and not (section.fields or section.entries or section.table):
        story.append(Paragraph(_markup(section.empty), s.body))
    return [CondPageBreak(room), *story]


def pcr_pdf(pcr: PCR, record: PcrRecordView, lang: str, font: Path | None = None) -> bytes:
    """The PCR document as PDF (A4), in the reader's language with the other beside it. `font`: the CJK font
    (PCF_LABEL_FONT), else the first one installed (`label_service.render.find_font`)."""
    s = _Styles(cjk_face(find_font(font)))
    w = _Words(lang)
    title = pcr_title(pcr, lang)
    issuer = _issuer(record, w)
    byline = " · ".join(
        part for part in (f"{pcr.id} {pcr.version}", w.code("pcr.status", record.status), issuer) if part
    )
    story: list[Flowable] = [
        Paragraph(_markup(title.main), s.title),
        Paragraph(_markup(title.sub), s.subtitle),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{_markup(pcr.title)}</b>", s.body),
        Paragraph(_markup(byline), s.subtitle),
    ]
    for section in pcr_html_sections(pcr, lang, record):
        story += _section_story(section, s)

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(s.face, 7.5)
        canvas.setFillColor(GREY)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, w.t("pcr.doc.page", ref=pcr.ref, page=doc.page))
        canvas.restoreState()

    out = io.BytesIO()
    with REPORTLAB:
        SimpleDocTemplate(
            out,
            pagesize=A4,
            title=f"{pcr.ref} {pcr.title}",
            author=issuer,
            subject=title.main,
            lang={"zh": "zh-CN", "en": "en"}[lang],
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
        ).build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
