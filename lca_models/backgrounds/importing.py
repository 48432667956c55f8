"""Importing a background database with Brightway's own importers (bw2io 0.9): ecospold2 folders
(`SingleOutputEcospold2Importer`), openLCA JSON-LD (`JSONLDImporter`), and Brightway's Excel and CSV formats
(`ExcelImporter`, `CSVImporter`), each with its own strategies, linked to biosphere3.

Nothing is silently dropped. After the importer's strategies:

- every exchange still without an input (unlinked) is listed, grouped by what names it (name, categories or
  location, unit, type) with a count and example activities; with any, nothing is written and the report says so
  (`written` False). The caller may run the import again with `drop` = exactly the listed groups: those exchanges are
  then left out and listed as `dropped`; a group not in `drop` stops the import again;
- an exchange a bw2io strategy removed (ecoinvent's known data issues: ghost exchanges, links to missing activities,
  outdated biosphere flows, zero-amount inputs) is listed too: with an amount other than zero it counts as unlinked
  (it would change results), with a zero amount as a notice;
- activities without a production exchange (Brightway then assumes 1), duplicate codes, amounts that are not finite
  numbers and zero production amounts are listed; the last three stop the import (`ImportFailed`): the matrix would
  be wrong or singular.

Each version is written to a bw2data project of its own (the caller names it, e.g. `pcf-bg-<name>-<version>`), a
copy of a template project holding biosphere3 and the IPCC 2021 methods written offline
(`lca_models.background.write_biosphere_and_methods`, once per factor set), so that versions never see each other.
openLCA's product nodes are merged into the one process making each (`_merge_single_products`), so a JSON-LD
activity is its process, named by the process's `@id`, as an ecospold2 activity is by bw2io's code.

Archives are bounded before anything reads them (`unpack`): member count, total and per-member size, compression
ratio (zip bombs), paths leaving the folder (zip slip), links; ecospold2 XML is parsed with entity resolution and
network access off, and a document type declaration is refused (billion laughs, external entities).
"""

import contextlib
import math
import os
import re
import shutil
import stat
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from lca_models.background import PROJECT_LOCK

FORMATS = ("ecospold2", "jsonld", "excel", "csv")
BIOSPHERE = "biosphere3"
EXAMPLES = 3  # example activities named per unlinked group

Progress = Callable[[str, float], None]
# Brightway's datapackages hold amounts in float32 (bw_processing): a larger amount becomes infinite in the matrix
SINGLE_PRECISION_MAX = 3.4028234663852886e38
RATIO_FLOOR = 1024**2  # below this many bytes unpacked (a member, or the whole archive) the ratio is not checked

# bw2data keeps its current project per process: one import at a time switches it, and gives it back
_PROJECT_LOCK = PROJECT_LOCK  # shared with the engine (lca_models.background)


@dataclass(frozen=True)
class Limits:
    """Bounds of an archive before it is unpacked. Defaults fit ecoinvent 3.10 cut-off's ecospold2 release (about
    21,000 .spold files, 4–5 GB unpacked, text compressing 10–20 times); an upload through the web passes smaller
    ones."""

    max_members: int = 100_000
    max_bytes: int = 16 * 1024**3
    max_member_bytes: int = 512 * 1024**2
    max_ratio: float = 200.0  # uncompressed / compressed size of a member over 1 MiB: above, a zip bomb


class ArchiveRefused(ValueError):
    """An archive that is not unpacked: `code` names the reason (the message catalogue's
    `backgrounds.archive.<code>`), `detail` says it in English."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


class ImportFailed(RuntimeError):
    """An import that cannot give a database: unreadable files, or problems that would make the matrix wrong."""

    def __init__(self, code: str, detail: str, problems: list[dict] | None = None):
        super().__init__(detail)
        self.code, self.detail, self.problems = code, detail, problems or []


@dataclass
class ImportReport:
    """What an import found and did. `unlinked` and `problems` are lists of plain dicts (JSON as they are)."""

    name: str
    project: str
    format: str
    written: bool = False
    counts: dict = field(default_factory=dict)
    unlinked: list[dict] = field(default_factory=list)  # groups: name, categories, location, unit, type, count, ...
    dropped: list[dict] = field(default_factory=list)  # groups left out on the admin's word
    problems: list[dict] = field(default_factory=list)  # code, activity, detail, blocking
    seconds: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# --- archives ------------------------------------------------------------------------------------------------------


def inspect(archive: Path, limits: Limits = Limits()) -> list[str]:
    """The member names of a zip archive, read from its directory without unpacking anything, or ArchiveRefused:
    not a zip, too many members, too large (declared), a member expanding more than `max_ratio` times (a zip bomb),
    a path leaving the folder (zip slip) or a link."""
    if not zipfile.is_zipfile(archive):
        raise ArchiveRefused("not_zip", "the file is not a zip archive")
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise ArchiveRefused("unreadable", f"the archive cannot be read: {exc}") from None
    if len(members) > limits.max_members:
        raise ArchiveRefused("too_many_members", f"more than {limits.max_members} files in the archive")
    declared = sum(member.file_size for member in members)
    if declared > limits.max_bytes:
        raise ArchiveRefused("too_large", f"more than {limits.max_bytes // 1024**2} MiB unpacked")
    for member in members:
        _check_member(member, limits)
    # many members each under the per-member floor (1 MiB) expand as much as one big one: the archive as a whole
    # is held to the same ratio (ecoinvent's text compresses 10-20 times, a bomb of small members 1,000 times)
    packed = sum(member.compress_size for member in members)
    if declared > RATIO_FLOOR and declared > limits.max_ratio * max(packed, 1):
        raise ArchiveRefused("bomb", f"the archive expands more than {limits.max_ratio:.0f} times")
    return [member.filename for member in members]


def unpack(archive: Path, dest: Path, limits: Limits = Limits()) -> Path:
    """Unpacks a zip archive into `dest` (which must not exist) within `limits`, or refuses it with nothing left
    behind. Member sizes are counted as they are written, not taken from the archive's own headers."""
    inspect(archive, limits)
    dest.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            written = 0
            root = dest.resolve()
            for member in zipped.infolist():
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise ArchiveRefused("unsafe_path", f"{member.filename!r} leaves the archive's folder")
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _copy_member(zipped, member, target, limits, limits.max_bytes - written)
    except ArchiveRefused:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise ArchiveRefused("unreadable", f"the archive cannot be read: {exc}") from None
    return dest


def _check_member(member: zipfile.ZipInfo, limits: Limits) -> None:
    name = member.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or ":" in path.parts[0] or "\x00" in name:
        raise ArchiveRefused("unsafe_path", f"{name!r} leaves the archive's folder")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveRefused("unsafe_path", f"{name!r} is a link")
    if member.file_size > limits.max_member_bytes:
        raise ArchiveRefused("too_large", f"{name!r} is larger than {limits.max_member_bytes // 1024**2} MiB")
    if member.file_size > RATIO_FLOOR and member.file_size > limits.max_ratio * max(member.compress_size, 1):
        raise ArchiveRefused("bomb", f"{name!r} expands more than {limits.max_ratio:.0f} times")


def _copy_member(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, limits: Limits, left: int) -> int:
    """Copies one member, counting what it really expands to (a forged header does not get past the limits)."""
    allowed = min(member.file_size, limits.max_member_bytes, left)
    copied = 0
    with zipped.open(member) as source, open(target, "wb") as out:
        while chunk := source.read(1024 * 1024):
            copied += len(chunk)
            if copied > allowed:
                raise ArchiveRefused("bomb", f"{member.filename!r} expands beyond what the archive declares")
            out.write(chunk)
    return copied


# --- where the data is in a folder ---------------------------------------------------------------------------------


def locate(source: Path, format: str) -> Path:
    """The path the importer reads: for ecospold2 the folder holding the .spold files (the archive's root, its
    `datasets` folder, or the only folder below holding them), for JSON-LD the folder holding `processes/`, for
    Excel and CSV the file itself."""
    if format in ("excel", "csv"):
        if not source.is_file():
            raise ImportFailed("not_found", f"{source.name}: not a file")
        return source
    if not source.is_dir():
        raise ImportFailed("not_found", f"{source.name}: not a folder")
    if format == "ecospold2":
        found = _folders_with(source, lambda folder: any(p.suffix.lower() == ".spold" for p in folder.iterdir()))
        if not found:
            raise ImportFailed("wrong_format", "no ecospold2 (.spold) file in the archive")
    else:
        found = _folders_with(source, lambda folder: (folder / "processes").is_dir())
        if not found:
            raise ImportFailed("wrong_format", "no openLCA JSON-LD package (a processes folder) in the archive")
    if len(found) > 1:
        raise ImportFailed("ambiguous", f"more than one dataset folder: {', '.join(sorted(p.name for p in found))}")
    return found[0]


def _folders_with(root: Path, test: Callable[[Path], bool], depth: int = 2) -> list[Path]:
    level, found = [root], []
    for _ in range(depth + 1):
        found = [folder for folder in level if test(folder)]
        if found:
            return found
        level = [child for folder in level for child in sorted(folder.iterdir()) if child.is_dir()]
    return found


def check_xml(folder: Path) -> int:
    """Refuses an ecospold2 file that declares a document type or an entity (billion laughs, external files or
    URLs); the datasets are then parsed with entity resolution and network access off as well (`_safe_xml`). The
    whole file is read, not its head: a prolog padded with a long comment would carry its DOCTYPE past any head
    (in well-formed XML a literal `<!DOCTYPE` / `<!ENTITY` can only be such a declaration, or a comment, refused
    alike). The count of files."""
    count = 0
    for path in folder.iterdir():
        if path.suffix.lower() != ".spold":
            continue
        count += 1
        if _declares(path):
            raise ImportFailed("unsafe_xml", f"{path.name}: a document type declaration is not accepted")
    return count


DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
XML_CHUNK = 4 * 1024 * 1024


def _declares(path: Path) -> bool:
    """A DOCTYPE or ENTITY declaration anywhere in the file (read in chunks overlapping by a declaration's
    length, so none is cut in two)."""
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(XML_CHUNK):
            block = tail + chunk
            if DECLARATION.search(block):
                return True
            tail = block[-9:]
    return False


@contextlib.contextmanager
def _safe_xml():
    """lxml.objectify's default parser (the one bw2io's extractor uses) without entity resolution, network access
    or huge trees, for the duration of the extraction."""
    from lxml import objectify

    objectify.set_default_parser(
        objectify.makeparser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
    )
    try:
        yield
    finally:
        objectify.set_default_parser()


# --- the import ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def in_project(project: str, brightway_dir: Path | None = None, factor_set=None):
    """bw2data with `project` current; the project current before is current again afterwards. With `factor_set`,
    a project that does not exist yet starts as a copy of the template holding biosphere3 and the methods
    (`_template`). Switching is skipped where it changes nothing: bw2data runs two full garbage collections per
    switch, seconds in a process holding a large heap."""
    from lca_models.background import import_bw2data
    from lca_models.config import LCASettings

    with _PROJECT_LOCK:
        directory = Path(brightway_dir or LCASettings().brightway_dir)
        bd = import_bw2data(directory)
        before = bd.projects.current
        if factor_set is not None and project not in bd.projects:
            with template_lock(directory):
                _template(bd, factor_set)
                bd.projects.copy_project(project, switch=True)
        elif before != project:
            bd.projects.set_current(project)
        try:
            yield bd
        finally:
            if bd.projects.current != before:
                bd.projects.set_current(before)


TEMPLATE_LOCK = ".pcf-bg-template.lock"


@contextlib.contextmanager
def template_lock(brightway_dir: Path):
    """The template project written and copied by one process at a time (an exclusive lock on a file beside the
    projects): two workers importing their first databases at once would otherwise both write biosphere3 into it,
    or one would copy it half-written (`write_biosphere_and_methods` skips a biosphere3 that is already registered),
    and every elementary flow of that import would be unlinked."""
    import fcntl

    brightway_dir.mkdir(parents=True, exist_ok=True)
    with open(brightway_dir / TEMPLATE_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def import_database(
    source: Path,
    *,
    format: str,
    project: str,
    name: str,
    progress: Progress | None = None,
    drop: Iterable[dict] | None = None,
    factor_set=None,
    brightway_dir: Path | None = None,
) -> ImportReport:
    """Imports `source` (a folder, or the Excel/CSV file; unpack archives first with `unpack`) into bw2data project
    `project` as database `name`. Returns the report; the database is written only when every exchange is linked
    (or its group is in `drop`) and no problem stops it."""
    if format not in FORMATS:
        raise ImportFailed("wrong_format", f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    say = progress or (lambda stage, fraction: None)
    report = ImportReport(name=name, project=project, format=format)
    path = locate(source, format)
    if factor_set is None:
        from lca_models.config import LCASettings
        from lca_models.factor_set import load_factor_set

        factor_set = load_factor_set(LCASettings().factor_set)
    started = time.perf_counter()
    say("reading", 0.0)
    with in_project(project, brightway_dir, factor_set) as bd, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lca_models.background import write_biosphere_and_methods

        write_biosphere_and_methods(bd, factor_set)  # nothing to do when the template gave them
        report.seconds["biosphere"] = time.perf_counter() - started
        started = time.perf_counter()
        say("reading", 0.05)
        importer = _importer(bd, path, format, name)
        report.seconds["reading"] = time.perf_counter() - started
        started = time.perf_counter()
        removed = _apply_strategies(importer, _strategies(bd, importer, format, name), say)
        if format != "jsonld":
            _rename(importer, name)
        report.seconds["linking"] = time.perf_counter() - started
        data = importer.data
        say("checking", 0.75)
        removed_groups, removed_notices = _removed(removed)
        unlinked = _merge(_unlinked_groups(data), removed_groups)
        report.problems.extend(removed_notices)
        report.problems.extend(_problems(data))
        wanted = {_group_key(group) for group in drop or ()}
        report.unlinked = unlinked
        if unlinked and not all(_group_key(group) in wanted for group in unlinked):
            report.counts = _counts(data)
            return report
        if unlinked:
            _drop_unlinked(data)
            report.dropped = unlinked
            report.unlinked = []
        blocking = [problem for problem in report.problems if problem.get("blocking")]
        if blocking:
            raise ImportFailed("problems", f"{len(blocking)} problems stop the import", report.problems)
        report.counts = _counts(data)
        started = time.perf_counter()
        say("writing", 0.8)
        if name in bd.databases:
            del bd.databases[name]
        try:
            importer.write_database(db_name=name)
        except Exception as exc:  # noqa: BLE001 - bw2data's own checks (codes, database names): reported, not a crash
            raise ImportFailed("write_failed", f"the database could not be written: {exc}") from None
        report.seconds["writing"] = time.perf_counter() - started
        report.written = True
        say("writing", 1.0)
    return report


TEMPLATE = "pcf-bg-biosphere-{factor_set}"


def _template(bd, factor_set) -> None:
    """The template project of a factor set, current: biosphere3 and the methods, written once (2–3 s of bw2io's
    biosphere and LCIA data), so each version is a project of its own at the cost of a folder copy."""
    from lca_models.background import write_biosphere_and_methods

    bd.projects.set_current(TEMPLATE.format(factor_set=factor_set.id))
    write_biosphere_and_methods(bd, factor_set)


def _importer(bd, path: Path, format: str, name: str):
    """bw2io's importer of the format, reading the data (not yet applying its strategies)."""
    try:
        if format == "ecospold2":
            from bw2io.importers.ecospold2 import SingleOutputEcospold2Importer

            if check_xml(path) == 0:
                raise ImportFailed("wrong_format", "no ecospold2 (.spold) file")
            with _safe_xml(), open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                importer = SingleOutputEcospold2Importer(
                    str(path), name, biosphere_database_name=BIOSPHERE, use_mp=False, add_product_information=False
                )
        elif format == "jsonld":
            from bw2io.importers.json_ld import JSONLDImporter

            importer = JSONLDImporter(path, name)
        elif format == "excel":
            from bw2io.importers.excel import ExcelImporter

            importer = ExcelImporter(path)
        else:
            from bw2io.importers.excel import CSVImporter

            importer = CSVImporter(path)
    except ImportFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a file the importer cannot read is the uploader's problem, said so
        raise ImportFailed("unreadable", f"the {format} data cannot be read: {type(exc).__name__}: {exc}") from None
    if not getattr(importer, "data", None):
        raise ImportFailed("empty", "no dataset in the data given")
    return importer


def _strategies(bd, importer, format: str, name: str) -> list:
    """The importer's own strategies, with biosphere flows linked to biosphere3: JSON-LD links its elementary
    flows to a database made of its own flows; they are linked to biosphere3 instead, by the flow's UUID (openLCA's
    ecoinvent and EF packages use ecoinvent's elementary flow UUIDs, biosphere3's codes), then by name, categories
    and unit."""
    from bw2io.strategies import link_iterable_by_fields

    strategies = list(importer.strategies)
    if format == "jsonld":
        strategies = [s for s in strategies if not _links_own_biosphere(s)]
        strategies.append(
            partial(link_iterable_by_fields, other=bd.Database(BIOSPHERE), fields=["code"], edge_kinds=["biosphere"])
        )
        strategies.append(_link_jsonld_by_name)
        strategies.append(_merge_single_products)
    return strategies


def _links_own_biosphere(strategy) -> bool:
    """JSONLDImporter's link of elementary flows to its own flows' database (replaced by biosphere3)."""
    func = getattr(strategy, "func", None)
    keywords = getattr(strategy, "keywords", None) or {}
    return getattr(func, "__name__", "") == "link_iterable_by_fields" and keywords.get("edge_kinds") == ["biosphere"]


def _link_jsonld_by_name(data: list) -> list:
    """JSON-LD elementary flows whose UUID biosphere3 does not know, linked by name, compartments and unit
    ("Elementary flows/Emission to air/unspecified" → ("air", "unspecified"))."""
    import bw2data as bd

    index = {}
    for flow in bd.Database(BIOSPHERE):
        index.setdefault((flow["name"].lower(), tuple(flow["categories"]), flow["unit"]), flow.key)
    for dataset in data:
        for exc in dataset.get("exchanges", ()):
            if exc.get("type") != "biosphere" or exc.get("input"):
                continue
            key = (str(exc.get("name", "")).lower(), _compartments(exc.get("categories")), exc.get("unit"))
            if key in index:
                exc["input"] = index[key]
    return data


def _merge_single_products(data: list) -> list:
    """openLCA's product flows become nodes of their own in bw2io (process → product → consumers). A product made
    by exactly one process (after bw2io's allocation, every process has one output) is merged into it, as an
    ecospold2 activity is: the process is the column PCR items link to (by the process's `@id`, contract B), its
    name, location and unit are what the search shows, the product's name its reference product. A product with
    several providers stays a node of its own."""
    products = {ds["code"]: ds for ds in data if ds.get("type") == "product"}
    producers: dict[str, list[dict]] = {}
    for ds in data:
        if ds.get("type") == "product":
            continue
        for exc in ds.get("exchanges", ()):
            target = exc.get("input")
            if exc.get("type") == "production" and target and target[1] in products:
                producers.setdefault(target[1], []).append(ds)
    merged: dict[tuple, tuple] = {}
    for code, makers in producers.items():
        process = makers[0]
        outputs = [exc for exc in process.get("exchanges", ()) if exc.get("type") == "production"]
        if len(makers) != 1 or len(outputs) != 1:
            continue
        product = products[code]
        key = (process["database"], process["code"])
        merged[(product["database"], code)] = key
        outputs[0]["input"] = key
        process["reference product"] = product.get("name")
        process["type"] = "processwithreferenceproduct"
    for ds in data:
        for exc in ds.get("exchanges", ()):
            target = exc.get("input")
            if exc.get("type") != "production" and target and tuple(target) in merged:
                exc["input"] = merged[tuple(target)]
    gone = {code for _, code in merged}
    return [ds for ds in data if not (ds.get("type") == "product" and ds["code"] in gone)]


COMPARTMENTS = {"emission to air": "air", "emission to water": "water", "emission to soil": "soil"}
RESOURCES = {"in air": "in air", "in ground": "in ground", "in water": "in water", "land": "land", "biotic": "biotic"}


def _compartments(categories) -> tuple:
    parts = [part.strip() for part in (categories or ()) if part and part.strip()]
    if parts and parts[0].lower() == "elementary flows":
        parts = parts[1:]
    if not parts:
        return ()
    head = parts[0].lower()
    if head in COMPARTMENTS:
        return (COMPARTMENTS[head], *parts[1:])
    if head == "resource":
        return ("natural resource", *parts[1:])
    return tuple(parts)


def _apply_strategies(importer, strategies: list, say: Progress) -> list[tuple[str, str, dict]]:
    """Applies the strategies one by one and returns every exchange one of them removed, as (strategy, activity
    name, exchange): bw2io's ecoinvent strategies remove exchanges by design, and none may go unreported."""
    removed = []
    total = max(len(strategies), 1)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        for number, strategy in enumerate(strategies):
            before = _exchanges_by_dataset(importer.data)
            try:
                importer.apply_strategy(strategy, verbose=False)
            except ImportFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - the data breaks a strategy: the uploader's data, said so
                label = getattr(strategy, "__name__", None) or getattr(strategy, "func", strategy).__name__
                raise ImportFailed("unreadable", f"{label}: {type(exc).__name__}: {exc}") from None
            removed.extend(_removed_by(strategy, before, importer.data))
            say("linking", 0.1 + 0.6 * (number + 1) / total)
    return removed


def _exchanges_by_dataset(data) -> dict[int, tuple[dict, list[dict]]]:
    if not isinstance(data, list):  # JSON-LD: the raw package until its processes become the list
        return {}
    return {id(ds): (ds, list(ds.get("exchanges", ()))) for ds in data if isinstance(ds, dict)}


def _removed_by(strategy, before: dict, data) -> list[tuple[str, str, dict]]:
    if not before or not isinstance(data, list):
        return []
    label = getattr(strategy, "__name__", None) or getattr(strategy, "func", strategy).__name__
    removed = []
    for ds in data:
        if not isinstance(ds, dict) or id(ds) not in before:
            continue
        _, old = before[id(ds)]
        now = ds.get("exchanges", ())
        if len(now) >= len(old):
            continue
        kept = {id(exc) for exc in now}
        removed.extend((label, ds.get("name", ""), exc) for exc in old if id(exc) not in kept)
    return removed


def _removed(removed: list[tuple[str, str, dict]]) -> tuple[list[dict], list[dict]]:
    """Removed exchanges with an amount: groups like unlinked ones (`removed_by` says which strategy); with zero
    amount: one notice per strategy."""
    groups: dict[tuple, dict] = {}
    notices: dict[str, int] = {}
    for strategy, activity, exc in removed:
        amount = exc.get("amount", 0) or 0
        if isinstance(amount, (int, float)) and amount == 0:
            notices[strategy] = notices.get(strategy, 0) + 1
            continue
        group = _group_of(exc)
        group["removed_by"] = strategy
        _add(groups, group, activity)
    return list(groups.values()), [
        {
            "code": "zero_amount_removed",
            "activity": None,
            "detail": f"{count} exchanges of amount 0 removed by bw2io's {strategy}",
            "count": count,
            "strategy": strategy,
            "blocking": False,
        }
        for strategy, count in sorted(notices.items())
    ]


def _group_of(exc: dict) -> dict:
    categories = exc.get("categories")
    return {
        "name": str(exc.get("name") or exc.get("flow") or "(no name)"),
        "categories": list(categories) if isinstance(categories, (list, tuple)) and categories else None,
        "location": exc.get("location") or None,
        "unit": exc.get("unit") or "",
        "type": exc.get("type") or "",
        "count": 0,
        "activities": [],
    }


def _group_key(group: dict) -> tuple:
    categories = group.get("categories")
    return (
        group.get("name"),
        tuple(categories) if categories else None,
        group.get("location") or None,
        group.get("unit") or "",
        group.get("type") or "",
        group.get("removed_by"),
    )


def _add(groups: dict, group: dict, activity: str) -> None:
    found = groups.setdefault(_group_key(group), group)
    found["count"] += 1
    if activity and activity not in found["activities"] and len(found["activities"]) < EXAMPLES:
        found["activities"].append(activity)


def _unlinked_groups(data: list) -> list[dict]:
    groups: dict[tuple, dict] = {}
    for ds in data:
        for exc in ds.get("exchanges", ()):
            if not exc.get("input"):
                _add(groups, _group_of(exc), ds.get("name", ""))
    return sorted(groups.values(), key=lambda g: (-g["count"], g["name"]))


def _merge(unlinked: list[dict], removed: list[dict]) -> list[dict]:
    return unlinked + sorted(removed, key=lambda g: (-g["count"], g["name"]))


def _drop_unlinked(data: list) -> None:
    for ds in data:
        if "exchanges" in ds:
            ds["exchanges"] = [exc for exc in ds["exchanges"] if exc.get("input")]


def _is_process(ds: dict) -> bool:
    return ds.get("type", "process") in ("process", "processwithreferenceproduct")


def _problems(data: list) -> list[dict]:
    """Activities without a production exchange, duplicate codes, amounts that are not finite, zero production."""
    problems = []
    seen: dict[str, str] = {}
    for ds in data:
        name = ds.get("name", "")
        code = ds.get("code")
        if code in seen:
            problems.append(_problem("duplicate_code", name, f"code {code} is also {seen[code]!r}", True))
        else:
            seen[code] = name
        if not _is_process(ds):
            continue
        production = [exc for exc in ds.get("exchanges", ()) if exc.get("type") == "production"]
        if not production:
            problems.append(_problem("no_production", name, "no production exchange: Brightway assumes 1", False))
        for exc in ds.get("exchanges", ()):
            amount = exc.get("amount")
            if not isinstance(amount, (int, float)) or not math.isfinite(amount):
                problems.append(_problem("non_finite_amount", name, f"{exc.get('name', '')}: amount {amount!r}", True))
            elif abs(amount) > SINGLE_PRECISION_MAX:
                detail = f"{exc.get('name', '')}: amount {amount!r} is beyond single precision (Brightway's matrices)"
                problems.append(_problem("non_finite_amount", name, detail, True))
            elif exc.get("type") == "production" and amount == 0:
                problems.append(_problem("zero_production", name, f"{exc.get('name', '')}: produced amount 0", True))
    return problems


def _problem(code: str, activity: str, detail: str, blocking: bool) -> dict:
    return {"code": code, "activity": activity, "detail": detail, "blocking": blocking}


def _counts(data: list) -> dict:
    counts = {"activities": 0, "products": 0, "technosphere": 0, "biosphere": 0, "production": 0}
    for ds in data:
        if _is_process(ds):
            counts["activities"] += 1
        elif ds.get("type") == "product":
            counts["products"] += 1
        for exc in ds.get("exchanges", ()):
            kind = exc.get("type")
            if kind in ("technosphere", "substitution"):
                counts["technosphere"] += 1
            elif kind in counts:
                counts[kind] += 1
    return counts


def _rename(importer, name: str) -> None:
    """Excel, CSV and ecospold2 data carry the database name they were made with: every dataset and internal link
    is renamed to the version's database name."""
    old = {ds.get("database") for ds in importer.data} - {name}
    for ds in importer.data:
        ds["database"] = name
        for exc in ds.get("exchanges", ()):
            target = exc.get("input")
            if isinstance(target, (tuple, list)) and target and target[0] in old:
                exc["input"] = (name, target[1])
    importer.db_name = name


def delete_project(project: str, brightway_dir: Path | None = None) -> None:
    """Removes a version's bw2data project and its files (a discarded or retired version)."""
    from lca_models.background import import_bw2data
    from lca_models.config import LCASettings

    with _PROJECT_LOCK:
        bd = import_bw2data(brightway_dir or LCASettings().brightway_dir)
        if project not in bd.projects:
            return
        if bd.projects.current == project:
            bd.projects.set_current("default")
        bd.projects.delete_project(project, delete_dir=True)
