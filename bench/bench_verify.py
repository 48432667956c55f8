"""Public label verification under a crowd: wrk, 100 connections, against the service and a bare FastAPI endpoint.

Both run as uvicorn with one worker process per core, wrk runs beside them (2 threads), 20 s per run after a
warm-up. Target: verification throughput >= 50 % of the bare endpoint's, p99 <= 50 ms. The bare endpoint is
measured both as `def` (run on the thread pool, like most routes) and as `async def` (the verification routes'
kind, the higher ceiling). Then the time to render a label in each format.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONNECTIONS, THREADS, SECONDS = 100, 2, 20
WORKERS = 2  # uvicorn worker processes, one per core of this machine, for the service and the bare app alike


def wrk(url: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    p = {q: _ms(re.search(rf"^\s+{q}%\s+([\d.]+\w+)", out, re.MULTILINE).group(1)) for q in ("50", "99")}
    return {
        "per_s": per_s,
        "p50_ms": p["50"],
        "p99_ms": p["99"],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def show(label: str, figures: dict[str, float]) -> None:
    extra = f"   non-2xx {figures['non_2xx']}" if figures["non_2xx"] else ""
    extra += f"   {figures['socket_errors']}" if figures["socket_errors"] else ""
    print(
        f"  {label:<44} {figures['per_s']:9.0f} req/s   p50 {figures['p50_ms']:6.2f} ms   "
        f"p99 {figures['p99_ms']:6.2f} ms{extra}"
    )


def serve(app: str, env: dict, logs: Path, name: str):
    from tests.processes import Process, free_port, wait_ready

    port = free_port()
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(WORKERS),
        ],
        env,
        logs,
    ).start()
    return process, port, wait_ready


def main() -> None:
    if shutil.which("wrk") is None:
        print("wrk is not installed (make bench installs Debian's wrk)")
        return
    from footprint_api.persistence.migrate import upgrade
    from tests.labelling import issued_label
    from tests.service import World, configure, seed_world

    scratch = Path(tempfile.mkdtemp(prefix="pcf-bench-verify-"))
    url = f"sqlite:///{scratch}/pcf.db"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    env = {**os.environ, "PCF_DATABASE_URL": url}
    service, port, wait_ready = serve("footprint_api.app:app", env, scratch, "api")
    bare, bare_port, _ = serve("bench.bare_app:app", {**os.environ, "PYTHONPATH": str(ROOT)}, scratch, "bare")
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", service, timeout=120)
        wait_ready(f"http://127.0.0.1:{bare_port}/sync", bare)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            number = issued_label(World(client, seed_world()), gtin=None)["number"]
        base = f"http://127.0.0.1:{port}"
        print(f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s, {WORKERS} uvicorn workers each, SQLite (embedded)")
        ceilings = {kind: wrk(f"http://127.0.0.1:{bare_port}/{kind}") for kind in ("sync", "async")}
        show("bare FastAPI endpoint, def (threadpool)", ceilings["sync"])
        show("bare FastAPI endpoint, async def (ceiling)", ceilings["async"])
        ceiling = ceilings["async"]
        for label, path in (
            ("GET /api/v1/public/labels/{number} (JSON)", f"/api/v1/public/labels/{number}"),
            ("GET /verify/{number} (HTML page)", f"/verify/{number}"),
        ):
            subprocess.run(["wrk", "-t1", "-c10", "-d2s", base + path], capture_output=True, check=True)  # warm-up
            figures = wrk(base + path)
            show(label, figures)
            print(
                f"  {'':<44} {figures['per_s'] / ceiling['per_s']:9.0%} of the async ceiling, "
                f"{figures['per_s'] / ceilings['sync']['per_s']:.0%} of the def one"
            )
    finally:
        service.stop()
        bare.stop()


if __name__ == "__main__":
    main()
