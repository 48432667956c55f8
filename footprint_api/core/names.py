"""Names of the product data in the reader's language: result codes (stages, parts, methods) from the message
catalogues (locales/*/codes.yaml), PCR items, parameters and declared units from the PCR data's Chinese names,
product categories and PCR titles, provinces (the factor set's table of provincial-level divisions, English ->
Chinese) and grid regions, however an inventory spelled them."""

from functools import lru_cache

from footprint_api.core import messages
from lca_models.config import LCASettings
from lca_models.factor_set import FactorSet, load_factor_set
from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR
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


# --- places ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def factor_set() -> FactorSet:
    """The service's factor set (PCF_FACTOR_SET), read once per process: its provinces (English name -> Chinese
    name, grid region) and grid regions name every place the service shows or stores."""
    return load_factor_set(LCASettings().factor_set)


def province_key(name: str | None) -> str | None:
    """The province as the factor set keys it (its English name), however it is written: 'Guizhou', 'guizhou',
    '贵州' or '贵州省' are one province. None for a name that is no provincial-level division."""
    return factor_set().province_key(name) if name and name.strip() else None


def province_spellings(key: str) -> tuple[str, str]:
    """(English name, Chinese name) of a province key: the two ways an inventory may give it."""
    return key, factor_set().provinces.get(key, {}).get("zh", key)


def province_name(name: str | None, lang: str) -> str:
    """'贵州' on a Chinese page and 'Guizhou' on an English one, however the inventory spelled it; a name that is no
    province is shown as written."""
    key = province_key(name)
    if key is None:
        return (name or "").strip()
    english, chinese = province_spellings(key)
    return chinese if lang == "zh" else english


def grid_regions() -> tuple[str, ...]:
    """The regional grids (MEE/NBS regional grid factors), in the order the provinces first name them."""
    return tuple(dict.fromkeys(spec["region"] for spec in factor_set().provinces.values()))


def region_key(name: str | None) -> str | None:
    """A regional grid as the factor set names it, written in English (any case) or by its Chinese name (南方电网,
    南方); None for a name that is no regional grid."""
    wanted = (name or "").strip()
    zh = messages.catalogue("zh").messages
    for region in grid_regions():
        chinese = zh.get(f"inv.grid.{region}", "")
        if wanted.casefold() == region.casefold() or (chinese and wanted in (chinese, chinese.removesuffix("电网"))):
            return region
    return None


def grid_region_name(name: str | None, lang: str) -> str:
    """A grid region ('South', '南方') by its name in the reader's language ('南方电网'), else as written."""
    key = region_key(name)
    return messages.catalogue(lang).messages.get(f"inv.grid.{key}", key) if key else (name or "").strip()


# --- product categories and PCRs ------------------------------------------------------------------------------------


def category_name(lang: str, code: str | None, own_zh: str | None = None, own: str | None = None) -> str:
    """A product category in the reader's language: the service's own name (locales/*/pcr.yaml), else the name its
    PCR gives (a category a standards body added), else its code."""
    if not code:
        return ""
    given = (own_zh if lang == "zh" else own) or own
    return messages.catalogue(lang).messages.get(f"pcr.category.{code}") or given or code


def pcr_category(pcr_id: str, lang: str, version: str | None = None) -> str:
    """The category of a PCR named by its id ('PCR-CN-CEMENT' -> '水泥'), for lists that carry only the id; the id
    itself when the registry has no such PCR."""
    try:
        pcr = default_registry().get(pcr_id, version)
    except PCRNotFound:
        return pcr_id
    return category_name(lang, pcr.product_category, pcr.product_category_label_zh, pcr.product_category_label)


def pcr_title(pcr: PCR, lang: str) -> str:
    """A PCR's title in the reader's language: its Chinese title on a Chinese page ('水泥产品种类规则' when it has
    none), its registered title on an English one."""
    if lang != "zh":
        return pcr.title
    if pcr.title_zh:
        return pcr.title_zh
    category = category_name(lang, pcr.product_category, pcr.product_category_label_zh, pcr.product_category_label)
    return messages.catalogue(lang)("pcr.doc.title", category=category)
