"""PCR registry: what reading PCRs from the database costs a calculation, and what the standards body's steps cost.

- a version asked for by number (every calculation, form and template asks): the package's files vs the database
  source warm (kept per process) and cold (a first read of a version, as after another process published it);
- the listing (the product form, the library), which checks the generation counter first;
- the full check of a draft (`check_pcr`: schema, units, ranges, references to the factor set), the diff of two
  versions and the bilingual PDF document.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from bench.stats import line, summary, time_calls

ROOT = Path(__file__).resolve().parents[1]
DRAFT = ROOT / "pcr_rules" / "examples" / "pcr-drafts" / "pcr-electrolytic-manganese-draft.json"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pcf-bench-pcr-") as scratch:
        url = f"sqlite:///{scratch}/pcf.db"
        os.environ["PCF_DATABASE_URL"] = url
        from footprint_api.core.settings import get_settings

        get_settings.cache_clear()
        from footprint_api.persistence.migrate import upgrade

        upgrade(url)
        _lookups()
        _authoring()


def _lookups() -> None:
    from footprint_api.services.pcrs.source import DatabaseSource
    from pcr_rules.registry import file_registry

    files, database = file_registry(), DatabaseSource()
    refs = [(p.id, p.version) for p in files.list()]
    database.get(*refs[0])  # the engine and the pool
    print(f"PCR versions in the registry: {len(refs)}")
    print(
        line("  get(id, version), package files", summary(time_calls(lambda i: files.get(*refs[i % len(refs)]), 20000)))
    )
    for ref in refs:
        database.get(*ref)
    print(
        line(
            "  get(id, version), database, kept",
            summary(time_calls(lambda i: database.get(*refs[i % len(refs)]), 20000)),
        )
    )
    cold = []
    for _ in range(30):
        fresh = DatabaseSource()  # a process that has not read the version yet
        start = time.perf_counter()
        fresh.get(*refs[0])
        cold.append(time.perf_counter() - start)
    print(line("  get(id, version), database, first read", summary(cold)))
    print(line("  list(), database (generation checked)", summary(time_calls(lambda i: database.list(), 2000))))


def _authoring() -> None:
    from footprint_api.exports.pcr_document import PcrRecordView, pcr_pdf
    from lca_models.pcr_check import check_pcr
    from pcr_rules.diff import diff
    from pcr_rules.registry import file_registry

    document = json.loads(DRAFT.read_text(encoding="utf-8"))
    check_pcr(document)
    print(line("  check_pcr, manganese draft (full check)", summary(time_calls(lambda i: check_pcr(document), 50))))
    old, new = file_registry().get("PCR-CN-ALUMINIUM", "1.0.0"), file_registry().get("PCR-CN-ALUMINIUM", "1.1.0")
    print(line("  diff, aluminium 1.0.0 -> 1.1.0", summary(time_calls(lambda i: diff(old, new), 200))))
    record = PcrRecordView(status="published", issuer_name="PCF PCR committee")
    pcr_pdf(new, record, "zh")
    print(line("  PDF document, aluminium 1.1.0, zh", summary(time_calls(lambda i: pcr_pdf(new, record, "zh"), 10))))


if __name__ == "__main__":
    main()
