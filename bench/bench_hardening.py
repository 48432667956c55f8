"""Probe figures of issue 11: crafted workbooks (time and memory of reading them) and a short fuzz run (requests, 5xx).

Workbooks: each crafted file is read in a fresh subprocess, so that its RSS (from /proc/self/status: VmRSS before
and after, VmHWM for the peak) is its own. "before" is the reading the service did before the fix (openpyxl,
full mode, the whole workbook; capped here at LEGACY_SECONDS and LEGACY_MEMORY_BYTES, so a bomb is reported as
"over the cap" instead of taking the machine); "after" is footprint_api.services.excel.read_workbook.

Fuzz: Schemathesis' CLI, every check and phase (stateful included), against a local uvicorn process of the
embedded configuration (SQLite), as a manufacturer engineer and anonymously, FUZZ_SECONDS each; the requests and
server errors are counted from its NDJSON report (tests/integration/test_fuzz.py runs the same on PostgreSQL).
"""

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEGACY_SECONDS = 20
LEGACY_MEMORY_BYTES = 3 * 1024**3
FUZZ_SECONDS = int(os.environ.get("PCF_BENCH_FUZZ_SECONDS", "20"))

PROBE = r"""
import io, resource, sys, time
from pathlib import Path

def rss(key):
    with open("/proc/self/status") as status:
        return int(next(l for l in status if l.startswith(key + ":")).split()[1]) * 1024

content = Path(sys.argv[2]).read_bytes()
if sys.argv[1] == "before":
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
    from openpyxl import load_workbook
    read = lambda: load_workbook(io.BytesIO(content), data_only=True, read_only=False)
else:
    from footprint_api.services.excel import read_workbook
    read = lambda: read_workbook(content)
before, started = rss("VmRSS"), time.monotonic()
try:
    read()
    outcome = "read"
except MemoryError:
    outcome = "MemoryError"
except Exception as exc:
    outcome = f"{getattr(exc, 'status', type(exc).__name__)} {getattr(exc, 'detail', '')}"[:60]
print(time.monotonic() - started, before, rss("VmHWM"), rss("VmRSS"), outcome, sep="\t")
"""


def workbooks() -> dict[str, bytes]:
    from footprint_api.services import excel
    from pcr_rules import default_registry
    from tests.test_workbook_limits import (
        BILLION_LAUGHS,
        ITEMS_PART,
        SHEET_HEAD,
        SHEET_TAIL,
        one_long_string,
        rebuilt,
        repeated_rows,
        with_shared_strings,
    )

    template = excel.template(default_registry().get("PCR-CN-CEMENT"))
    million = SHEET_HEAD + b'<row r="1000000"><c r="A1000000" t="n"><v>1</v></c></row>' + SHEET_TAIL
    return {
        "sheet of 1.5 M repeated rows (540 MB unpacked)": rebuilt(template, {ITEMS_PART: repeated_rows(1_500_000)}),
        "one 500 MB shared string": with_shared_strings(template, one_long_string(500_000_000)),
        "150,000 rows (57 MB unpacked)": rebuilt(template, {ITEMS_PART: repeated_rows(150_000)}),
        "one cell at row 1,000,000": rebuilt(template, {ITEMS_PART: million}),
        "100 sheets": _hundred_sheets(),
        "billion laughs (DTD)": rebuilt(template, {ITEMS_PART: BILLION_LAUGHS}),
    }


def _hundred_sheets() -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for index in range(100):
        book.create_sheet(f"Sheet {index}").append(["x"] * 10)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def probe(mode: str, path: Path) -> str:
    """One reading in a fresh interpreter: seconds, RSS before / peak / after (MB), outcome."""
    try:
        run = subprocess.run(
            [sys.executable, "-c", PROBE, mode, str(path), str(LEGACY_MEMORY_BYTES)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=LEGACY_SECONDS if mode == "before" else 120,
        )
    except subprocess.TimeoutExpired:
        return f"{'> ' + str(LEGACY_SECONDS) + ' s':>9} {'':>21}  still reading (stopped)"
    if run.returncode or not run.stdout.strip():
        return f"{'':>9} {'':>21}  died: {(run.stderr.strip().splitlines() or ['?'])[-1][:50]}"
    seconds, before, peak, after, outcome = run.stdout.strip().split("\t")
    return f"{float(seconds):8.2f}s {int(before) / 1e6:6.0f} {int(peak) / 1e6:6.0f} {int(after) / 1e6:6.0f}  {outcome}"


def bench_workbooks() -> None:
    print("crafted workbooks, read in a subprocess: seconds, RSS MB before / peak / after, outcome")
    print(f"{'workbook':<48} {'packed':>9}  {'':<6} {'time':>9} {'before':>6} {'peak':>6} {'after':>6}")
    with tempfile.TemporaryDirectory(prefix="pcf-bench-xlsx-") as scratch:
        for name, content in workbooks().items():
            path = Path(scratch) / "probe.xlsx"
            path.write_bytes(content)
            for mode in ("before", "after"):
                label = name if mode == "before" else ""
                print(
                    f"{label:<48} {(f'{len(content) / 1000:.0f} kB' if label else ''):>9}  {mode:<6} "
                    f"{probe(mode, path)}"
                )


def bench_fuzz() -> None:
    from bench.embedded import embedded_service
    from tests.integration.test_fuzz import interactions, is_server_error, run_schemathesis

    with embedded_service("pcf-bench-fuzz-") as (base, world, scratch):
        principals = {"manufacturer engineer": world.as_("acme-engineer"), "anonymous": {}}
        print(f"\nSchemathesis (--checks all, all phases), {FUZZ_SECONDS} s per principal, embedded stack")
        print(f"{'principal':<24} {'requests':>9} {'5xx':>5}")
        for name, headers in principals.items():
            report = scratch / f"{name.replace(' ', '-')}.ndjson"
            run_schemathesis(base, headers, report, FUZZ_SECONDS)
            seen = interactions(report) if report.exists() else []
            print(f"{name:<24} {len(seen):>9} {sum(map(is_server_error, seen)):>5}")


def main() -> None:
    bench_workbooks()
    bench_fuzz()


if __name__ == "__main__":
    main()
