"""The footprint report as PDF (reportlab): what a practitioner or a verifier reads, one footprint per report.

Contents follow GB/T 24067-2024 / ISO 14067 clause 7 (CFP study report): product and declared unit, PCR and
boundary, result with its fossil / biogenic / land-use split and biogenic CO2 reported apart, both electricity
methods and every certificate applied, contributions, the supplier data of each purchased input (the label, PACT
footprint or factor-database entry behind it, or the screening value it rests on), data quality, data gaps, the
Monte Carlo uncertainty when it ran (clause 6.4.9.2 / 7.3 h: the uncertainty of the result), the versions that reproduce it, and the verification
statement of the certification body that approved it (ISO 14064-3 §6.3.4: opinion, verifier, date).

Every string is escaped for reportlab's Paragraph markup (`<` and `&`), so a product or facility name prints as
typed and never as markup.

What a result explains in words (the location rule, how a factor was derived, the data gaps) is stored by code and
values (lca_models.results.Explanation); `explained` words them in a reader's language, for this report (in both
languages) and for the pages, with the result's items, parameters, provinces and grid regions named in it.
"""

import io
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from footprint_api.core.messages import catalogue
from footprint_api.core.names import SERVICE_ITEMS_ZH
from label_service.pdf import REPORTLAB
from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR
from pcr_rules.registry import default_registry

GREEN = colors.HexColor("#1b6b3a")
PAGE_WIDTH_MM = 174  # A4 less the 18 mm margins


# --- names and explanations of a result in a reader's language ----------------------------------------------------


def result_pcr(result: dict[str, Any]) -> PCR | None:
    """The PCR version a result was calculated under, if the registry still has it."""
    try:
        return default_registry().get(result["pcr"]["id"], result["pcr"]["version"])
    except (PCRNotFound, KeyError, TypeError):
        return None


def item_names(pcr: PCR | None, lang: str) -> dict[str, str]:
    """Each item's name in `lang` by item id (the Chinese name on a Chinese page where the PCR has one, else its
    English label), the plant's own generating units included."""
    t = catalogue(lang)
    names = {"captive_power": t("code.item.captive_power")}
    for item in pcr.items if pcr else []:
        names[item.id] = item.label_zh if lang == "zh" and item.label_zh else item.label
    return names


def parameter_names(pcr: PCR | None, lang: str) -> dict[str, str]:
    """Each parameter's name in `lang`: the product system's by id, an item's by 'item.parameter'."""
    names: dict[str, str] = {}

    def name(spec) -> str:
        return spec.label_zh if lang == "zh" and spec.label_zh else spec.label

    for spec in pcr.parameters if pcr else []:
        names[spec.id] = name(spec)
    for item in pcr.items if pcr else []:
        for spec in item.parameters:
            names[f"{item.id}.{spec.id}"] = name(spec)
    return names


def _bilingual(label: str, lang: str) -> str:
    """'柴油 diesel oil' (the factor set's labels: Chinese, then English) -> '柴油' or 'diesel oil'."""
    head, _, tail = label.partition(" ")
    if not tail or head.isascii():
        return label
    return head if lang == "zh" else tail


def _choice(pcr: PCR | None, taken: str, lang: str) -> str:
    """'pot_cell_technology=CWPB' -> the parameter's name and the choice's, in `lang`."""
    parameter, _, value = taken.partition("=")
    spec = next((p for p in (pcr.parameters if pcr else []) if p.id == parameter), None)
    if spec is None:
        return taken
    choice = spec.choice(value)
    named = (choice.label_zh if lang == "zh" and choice.label_zh else choice.label) if choice else value
    name = spec.label_zh if lang == "zh" and spec.label_zh else spec.label
    return f"{name}：{named}" if lang == "zh" else f"{name}: {named}"


class _Wording:
    """The values of explanations named in one language: items and parameters by the result's PCR; provinces, grid
    regions, factor levels and check states by the catalogue (on an English page the stored English names stay)."""

    def __init__(self, result: dict[str, Any], lang: str):
        self.lang, self.t = lang, catalogue(lang)
        self.pcr = result_pcr(result)
        self.items = item_names(self.pcr, lang)

    def _item(self, code: str) -> str:
        return self.items.get(code, code)

    def _named(self, prefix: str, code: object) -> str:
        return self.t.messages.get(f"{prefix}.{code}", str(code))

    def _area(self, code: object) -> str:
        if self.lang == "en":
            return str(code)
        return self.t.messages.get(f"inv.province.{code}") or self._named("inv.grid", code)

    def _list(self, values: list[str], name) -> str:
        sep = "、" if self.lang == "zh" else ", "
        return sep.join(name(v) for v in values) or self.t("code.result.none")

    def value(self, name: str, value: object, params: dict[str, Any]) -> object:
        table = {
            "item": lambda: self._item(value),
            "items": lambda: self._list(value, self._item),
            "fuel": lambda: _bilingual(params["fuel_label"], self.lang) if "fuel_label" in params else value,
            "fuel_label": lambda: _bilingual(value, self.lang),
            "level": lambda: self._named("code.level", value) if self.lang != "en" else value,
            "scope": lambda: self._named("code.level", value) if self.lang != "en" else value,
            "province": lambda: self._area(value),
            "grid_region": lambda: self._area(value),
            "area": lambda: self._area(value),
            "check": lambda: self._named("code.check", value) if self.lang != "en" else value,
            "parameters": lambda: self._list(value, lambda v: _choice(self.pcr, v, self.lang)),
            "gas": lambda: str(value).upper(),
        }
        return table[name]() if name in table else value

    def word(self, explanation: dict[str, Any] | None, stored: str = "") -> str:
        """An explanation in this language; the stored English text where there is no code (a result stored before
        explanations carried one) or the catalogue does not know it."""
        if not explanation:
            return stored
        key = f"code.result.{explanation.get('code')}"
        if key not in self.t.messages:
            return explanation.get("text") or stored
        params = explanation.get("params") or {}
        try:
            return self.t(key, **{name: self.value(name, v, params) for name, v in params.items()})
        except (KeyError, IndexError, ValueError):
            return explanation.get("text") or stored


def explained(result: dict[str, Any], lang: str) -> dict[str, Any]:
    """What a stored result explains, in `lang`: the location rule, the notes of the location and residual
    factors, the note of the electricity account and the data gaps (each '' or [] where there is none)."""
    wording = _Wording(result, lang)
    electricity = result["electricity"]

    def note(factor: dict[str, Any]) -> str:
        notes = factor.get("notes")
        if not notes:
            return factor.get("note", "")
        return ("；" if lang == "zh" else "; ").join(wording.word(n) for n in notes)

    gaps = result.get("data_gaps_explained") or []
    return {
        "location_rule": wording.word(electricity.get("location_rule_explained"), electricity.get("location_rule", "")),
        "location_note": note(electricity["location_factor"]),
        "residual_note": note(electricity["residual_factor"]),
        "electricity_note": wording.word(electricity.get("note_explained"), electricity.get("note", "")),
        "data_gaps": [wording.word(g) for g in gaps] if gaps else list(result.get("data_gaps", [])),
    }


# --- the report -------------------------------------------------------------------------------------------------


def cjk_face(path: Path) -> str:
    """The reportlab name of the CJK TrueType font at `path`, registered once per process; every PDF of the exports
    (this report, the PCR document) sets its text in it and is built under `label_service.pdf.REPORTLAB`."""
    name = f"ReportCJK-{path.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    return name


def _n(value: float, digits: int = 4) -> str:
    """`digits` significant digits (11,215.3 with six), whole numbers from 10^digits on (never an exponent there)."""
    return f"{value:,.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"


def _code(group: str, code: str) -> str:
    """A stage, part or method code as '中文 / English', like the report's headings; the code where unnamed."""
    key = f"code.{group}.{code}"
    zh, en = catalogue("zh").messages.get(key), catalogue("en").messages.get(key)
    return f"{zh} / {en}" if zh and en else code


def _pcr_names(result: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Item names as '中文 / code' by item id and the declared unit as '中文 / English', from the result's PCR."""
    english = result["declared_unit"]["description"]
    try:
        pcr = default_registry().get(result["pcr"]["id"], result["pcr"]["version"])
    except (PCRNotFound, KeyError):
        return {}, english
    named = {**SERVICE_ITEMS_ZH, **{item.id: item.label_zh for item in pcr.items if item.label_zh}}
    items = {item_id: f"{zh} / {item_id}" for item_id, zh in named.items()}
    zh = pcr.declared_unit.description_zh
    return items, f"{zh} / {english}" if zh else english


def _captive(electricity: dict[str, Any]) -> str:
    """', of which N kWh from the plant's own units at F kg CO2e/kWh and M kWh from the grid', where there are any."""
    if not electricity.get("captive_kwh_per_declared_unit"):
        return ""
    return (
        f", of which {_n(electricity['captive_kwh_per_declared_unit'], 6)} kWh from the plant's own units at "
        f"{_n(electricity['captive_kg_co2e_per_kwh'], 4)} kg CO2e/kWh and "
        f"{_n(electricity['grid_kwh_per_declared_unit'], 6)} kWh from the grid"
    )


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: `<`, `>` and `&` escaped (reportlab reads Paragraph text as markup), each line
    of the text a line of the paragraph."""
    return Paragraph("<br/>".join(escape(line) for line in str(text).split("\n")), style)


def _mass(kg: float, digits: int = 4) -> str:
    """A gas mass with `digits` significant digits in plain decimals (0.00003893, never 3.893e-05), as the web page."""
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(kg))))
    return f"{round(kg, decimals):,.{decimals}f}"


def _gases_per_item(
    result: dict[str, Any], item_names: dict[str, str], heading: ParagraphStyle, small: ParagraphStyle, table
) -> list:
    """The mass of each gas per item and part (the rows of the contributions table), in the columns of the per-gas
    result, so a verifier can check, say, the combustion CO2 of one fuel. Results stored before items carried
    their gases have no such table."""
    rows = sorted(result["contributions"], key=lambda c: -abs(c["kg_co2e"]))[:20]
    gases = list(result["per_gas"])
    if not rows or "gases" not in rows[0] or not gases:
        return []
    width = (PAGE_WIDTH_MM - 62) / len(gases)
    grid = table(
        [["清单项 Item", "部分 Part"] + [f"{gas} (kg)" for gas in gases]]
        + [
            [item_names.get(c["item"], c["item"]), _code("part", c["part"])]
            + [_mass(c["gases"][gas]) if c["gases"].get(gas) else "" for gas in gases]
            for c in rows
        ],
        [40, 22] + [width] * len(gases),
        small,
    )
    return [Paragraph("各清单项的温室气体 Greenhouse gases per item (kg per declared unit)", heading), grid]


SUPPLY_COLUMNS = (  # the table of supplier sources: (heading, key of a row, width in mm; PAGE_WIDTH_MM in all)
    ("清单项 Item", "item", 25),
    ("来源 Source", "source", 34),
    ("数值 Value", "value", 30),
    ("贡献 kg CO2e", "contribution", 18),
    ("有效期 Validity", "validity", 19),
    ("核验 Verified", "verified", 17),
    ("初级数据 Primary", "primary", 14),
    ("状态 State", "state", 17),
)


def _supply(rows: list[dict[str, str]], heading: ParagraphStyle, small: ParagraphStyle, table) -> list:
    """The supplier data of each purchased input (rows already worded in both languages by the service)."""
    if not rows:
        return []
    grid = table(
        [[title for title, _, _ in SUPPLY_COLUMNS]] + [[row[key] for _, key, _ in SUPPLY_COLUMNS] for row in rows],
        [width for _, _, width in SUPPLY_COLUMNS],
        small,
    )
    return [Paragraph("供应商数据 Supplier data", heading), grid]


def render_report(
    result: dict[str, Any],
    facts: dict[str, str],
    font: Path,
    verification: dict[str, str] | None = None,
    supply: list[dict[str, str]] | None = None,
) -> bytes:
    """facts: product, manufacturer, facility, pcr, footprint_id, created, label (or '').
    verification (when the footprint's application was approved): body, verifier, date, statement, label.
    supply: a row per purchased input, worded (item, source, value, contribution, validity, verified, primary,
    state), as services.exports.supply_rows makes them."""
    face = cjk_face(font)
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=face, fontSize=9, leading=12)
    heading = ParagraphStyle(
        "h", parent=base["Heading2"], fontName=face, fontSize=12, textColor=GREEN, spaceBefore=8, spaceAfter=4
    )
    title = ParagraphStyle("t", parent=base["Title"], fontName=face, fontSize=16, textColor=GREEN)
    unit = f"{_n(result['declared_unit']['amount'])} {result['declared_unit']['unit']}"
    item_names, declared_unit = _pcr_names(result)

    def table(rows: list[list[str]], widths: list[float], style: ParagraphStyle = body) -> Table:
        cells = [[_p(cell, style) for cell in row] for row in rows]
        grid = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f2ec")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return grid

    story = [
        Paragraph("产品碳足迹报告 · Product carbon footprint report", title),
        table(
            [
                ["", ""],
                ["产品 Product", facts["product"]],
                ["生产者 Manufacturer", facts["manufacturer"]],
                ["设施 Facility", facts["facility"]],
                ["声明单位 Declared unit", declared_unit],
                ["核算规则 PCR", facts["pcr"]],
                ["参考期 Reference period", " – ".join(result["reference_period"])],
                ["碳标签 Carbon label", facts["label"] or "not certified"],
                ["Footprint id · calculated", f"{facts['footprint_id']} · {facts['created']}"],
            ],
            [50, 120],
        ),
        Paragraph("结果 Result (IPCC 2021 GWP100, AR6)", heading),
        table(
            [
                ["Indicator", f"kg CO2e per {unit}"],
                [
                    "合计 Total (报告方法 reported method: "
                    + _code("method", result["electricity"]["reported_method"])
                    + ")",
                    _n(result["total_kg_co2e"], 6),
                ],
                ["fossil", _n(result["fossil_kg_co2e"], 6)],
                ["biogenic (non-CO2)", _n(result["biogenic_kg_co2e"], 6)],
                ["land use", _n(result["land_use_kg_co2e"], 6)],
                ["location-based electricity method", _n(result["location_based_kg_co2e"], 6)],
                ["market-based electricity method", _n(result["market_based_kg_co2e"], 6)],
                ["biogenic CO2 emitted (kg, reported apart)", _n(result["biogenic_co2_emission_kg"], 6)],
                ["biogenic CO2 removed (kg, reported apart)", _n(result["biogenic_co2_removal_kg"], 6)],
            ],
            [120, 50],
        ),
        Paragraph("贡献 Contributions", heading),
        table(
            [["清单项 Item", "部分 Part", "阶段 Stage", "kg CO2e", "占比 Share"]]
            + [
                [
                    item_names.get(c["item"], c["item"]),
                    _code("part", c["part"]),
                    _code("stage", c["stage"]),
                    _n(c["kg_co2e"], 5),
                    f"{c['share']:.1%}",
                ]
                for c in sorted(result["contributions"], key=lambda c: -abs(c["kg_co2e"]))[:20]
            ],
            [55, 35, 35, 25, 20],
        ),
    ]
    small = ParagraphStyle("small", parent=body, fontSize=7, leading=9)
    story += _gases_per_item(result, item_names, heading, small, table)
    story += _supply(supply or [], heading, small, table)
    electricity = result["electricity"]
    location = electricity["location_factor"]
    zh, en = explained(result, "zh"), explained(result, "en")
    story += [
        Paragraph("电力与绿证 Electricity and green certificates", heading),
        _p(
            f"Consumed {_n(electricity['consumed_kwh_per_declared_unit'], 6)} kWh per {unit}{_captive(electricity)}, "
            f"covered by retired certificates {_n(electricity['covered_kwh_per_declared_unit'], 6)} kWh. "
            f"Location factor {_n(location['kg_co2e_per_kwh'], 6)} kg CO2e/kWh ({location['year']}"
            f"{', ' + location['level'] + ' ' + location['area'] if location.get('area') else ''}; "
            f"{location['source']}); residual factor "
            f"{_n(electricity['residual_factor']['kg_co2e_per_kwh'], 6)} kg CO2e/kWh.",
            body,
        ),
    ]
    notes = [
        (title, zh[key], en[key])
        for title, key in (
            ("电力因子规则 Location rule", "location_rule"),
            ("基于位置因子 Location factor", "location_note"),
            ("剩余组合因子 Residual factor", "residual_note"),
            ("说明 Note", "electricity_note"),
        )
        if en[key]
    ]
    if notes:
        story.append(table([["", "中文 · English"]] + [[title, f"{z}\n{e}"] for title, z, e in notes], [40, 130]))
    if electricity["certificates"]:
        story.append(
            table(
                [["Serial", "Technology", "Generated", "kWh per unit", "kg CO2e/kWh"]]
                + [
                    [
                        c["serial"],
                        c["technology"],
                        c["generation_month"],
                        _n(c["covered_kwh_per_declared_unit"], 6),
                        str(c["factor"]["kg_co2e_per_kwh"]),
                    ]
                    for c in electricity["certificates"]
                ],
                [45, 30, 25, 35, 35],
            )
        )
    quality = result["data_quality"]
    story += [
        Paragraph("数据质量 Data quality", heading),
        _p(
            f"Footprint-weighted DQR {quality['dqr']:.2f} ({quality['level']}; meets the PCR: "
            f"{'yes' if quality['meets_pcr'] else 'no'}); primary data share {quality['primary_data_share']:.1%}.",
            body,
        ),
        Paragraph("数据缺口 Data gaps", heading),
        Paragraph(
            "<br/>".join(f"{escape(z)}<br/>{escape(e)}" for z, e in zip(zh["data_gaps"], en["data_gaps"], strict=True))
            or "无 none",
            body,
        ),
        Spacer(1, 4 * mm),
        _p(
            f"Reproduce with: PCR {result['pcr']['id']} {result['pcr']['version']}, factor set "
            f"{result['factor_set']['id']} {result['factor_set']['version']}, methods "
            f"{'; '.join(' / '.join(m) for m in result['method'].values())}, engine "
            f"{', '.join(f'{k} {v}' for k, v in result['engine'].items())}.",
            body,
        ),
    ]
    uncertainty = result.get("uncertainty")
    if uncertainty:
        story[-2:-2] = [
            Paragraph("不确定性 Uncertainty (Monte Carlo)", heading),
            table(
                [
                    ["", f"kg CO2e per {unit}"],
                    [
                        "95 % interval (2.5th – 97.5th percentile)",
                        f"{_n(uncertainty['p2_5_kg_co2e'], 6)} – {_n(uncertainty['p97_5_kg_co2e'], 6)}",
                    ],
                    ["mean · median", f"{_n(uncertainty['mean_kg_co2e'], 6)} · {_n(uncertainty['median_kg_co2e'], 6)}"],
                    ["relative standard deviation", f"{uncertainty['relative_sd']:.1%}"],
                    ["iterations · seed", f"{uncertainty['iterations']} · {uncertainty['seed']}"],
                ],
                [120, 50],
            ),
        ]
    if verification:
        story += [
            Paragraph("核查声明 Verification statement", heading),
            table(
                [
                    ["核查机构 Certification body", verification["body"]],
                    ["核查员 Verifier", verification["verifier"]],
                    ["日期 Date", verification["date"]],
                    ["碳标签 Label number", verification["label"] or "not yet issued"],
                ],
                [50, 120],
            ),
            Spacer(1, 2 * mm),
            Paragraph("<br/>".join(escape(line) for line in verification["statement"].splitlines()), body),
        ]
    out = io.BytesIO()
    with REPORTLAB:
        SimpleDocTemplate(
            out,
            pagesize=A4,
            title=f"Carbon footprint report {facts['product']}",
            author=facts["manufacturer"],
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
        ).build(story)
    return out.getvalue()
