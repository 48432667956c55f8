"""The service around the engine, side by side in one run, 3 runs each (issue 22, "Must show"):

- the engine alone: footprints per second on its own background (the ceiling of everything below);
- write transactions per calculation job, counted in-process on SQLite (claim, result, outbox mark, reads);
- the job queue, embedded (SQLite, tasks in-process), 8 clients: POST a calculation, follow the job by long-polling
  (`GET /api/v1/jobs/{id}?wait=`) to `succeeded`: jobs per second and the API process's CPU per job;
- a batch of 1,000 inventories in one job (`POST /api/v1/batches`): seconds per footprint, POST to finished;
- an authenticated 7 KiB footprint read at 16 clients: the API process's CPU per read (utime + stime from
  /proc/<pid>/stat) as a multiple of a bare async FastAPI endpoint (bench/bare_app.py) served and measured the same
  way;
- revocation: a token revoked through one API process, refused by that one and by a second API process on the same
  database: milliseconds from the revocation's answer to the first 401 of each (the bound is 250 ms).

Load comes from this process (asyncio + httpx, closed loop) over loopback to real uvicorn processes.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = 3
JOBS = 200
JOB_CLIENTS = 8
BATCH = 1000
READS = 3000
READ_CLIENTS = 16
TICKS = os.sysconf("SC_CLK_TCK")
CLIENT_CPU_MS: list[float] = []  # this process's CPU per job while it drives the queue


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def aluminium() -> dict:
    from tests.labelling import unique_serials  # certificate batches of their own per inventory

    return unique_serials(json.loads((ROOT / "pcr_rules" / "examples" / "aluminium-guizhou-2023.json").read_text()))


def spread(values: list[float], unit: str, digits: int = 1) -> str:
    runs = "  ".join(f"{v:.{digits}f}" for v in values)
    return f"median {statistics.median(values):.{digits}f} {unit}  (runs: {runs})"


# --- the engine alone ------------------------------------------------------------------------------------------------


def engine_alone() -> list[float]:
    from lca_models import get_engine
    from pcr_rules.inventory import Inventory

    engine = get_engine()
    inventory = Inventory.model_validate(aluminium())
    for _ in range(50):
        engine.calculate(inventory)
    rates = []
    for _ in range(RUNS):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < 1.0:
            engine.calculate(inventory)
            count += 1
        rates.append(count / (time.perf_counter() - started))
    return rates


# --- write transactions per job, in-process ------------------------------------------------------------------------


def transactions_per_job(jobs: int = 20) -> dict[str, float]:
    """Transactions begun per calculation job on SQLite, by kind: IMMEDIATE (takes the write lock) or DEFERRED
    (reads only), from the POST to the job's end, the job followed without polling (its end read once)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from footprint_api.app import create_app
    from footprint_api.persistence import db
    from footprint_api.persistence.migrate import upgrade
    from footprint_api.persistence.models import Job
    from tests.service import World, configure, seed_world

    with tempfile.TemporaryDirectory(prefix="pcf-bench-tx-") as scratch:
        url = f"sqlite:///{scratch}/pcf.db"
        configure(url, PCF_TASK_MODE="in_process")
        upgrade(url)
        with TestClient(create_app()) as client:
            world = World(client, seed_world())
            product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "bench aluminium")
            inventory = world.submit("acme-engineer", product["id"], aluminium()).json()["id"]
            world.calculate("acme-engineer", inventory, timeout=120)  # warm: engine, token check
            counts = {"IMMEDIATE": 0, "DEFERRED": 0}
            watching = threading.local()  # this thread's own reads of the job's state are not counted

            def begun(_connection):
                if not getattr(watching, "on", False):
                    counts[db.SQLITE_BEGIN.get()] += 1

            engine = db.get_engine()
            event.listen(engine, "begin", begun)
            try:
                for _ in range(jobs):
                    job = world.call("acme-engineer", "POST", f"/api/v1/inventories/{inventory}/calculations", json={})
                    job_id = uuid.UUID(job.json()["id"])
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        time.sleep(0.005)
                        watching.on = True
                        try:
                            with db.reads_only(), db.session_scope() as session:
                                done = session.get(Job, job_id).status.value
                        finally:
                            watching.on = False
                        if done in ("succeeded", "failed"):
                            break
            finally:
                event.remove(engine, "begin", begun)
    return {kind: count / jobs for kind, count in counts.items()}


# --- the embedded service under load ------------------------------------------------------------------------------


async def closed_loop(count: int, concurrency: int, request) -> float:
    """request(client, i) count times from `concurrency` clients; the wall seconds."""
    work = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client):
        for i in work:
            await request(client, i)

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return time.perf_counter() - started


async def follow(client, base: str, headers: dict, job_id: str, wait: float = 10) -> dict:
    """Long-polls a job to its end (a server that answers at once is asked again after 20 ms)."""
    while True:
        asked = time.perf_counter()
        job = (await client.get(f"{base}/api/v1/jobs/{job_id}", params={"wait": wait}, headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        if time.perf_counter() - asked < 0.05:
            await asyncio.sleep(0.02)


def submit_inventories(base: str, headers: dict, product_id: str, count: int) -> list[str]:
    ids: list[str] = []

    async def submit(client, _i):
        response = await client.post(
            f"{base}/api/v1/inventories", headers=headers, json={"product_id": product_id, "inventory": aluminium()}
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    asyncio.run(closed_loop(count, 8, submit))
    return ids


def queue_throughput(base: str, headers: dict, inventory: str, pid: int) -> tuple[float, float]:
    async def calculate(client, _i):
        response = await client.post(f"{base}/api/v1/inventories/{inventory}/calculations", headers=headers, json={})
        assert response.status_code == 202, response.text
        job = await follow(client, base, headers, response.json()["id"])
        assert job["status"] == "succeeded", job

    cpu, client = cpu_seconds(pid), time.process_time()
    wall = asyncio.run(closed_loop(JOBS, JOB_CLIENTS, calculate))
    CLIENT_CPU_MS.append((time.process_time() - client) / JOBS * 1000)  # the load's own share of the 2 cores
    return JOBS / wall, (cpu_seconds(pid) - cpu) / JOBS * 1000


def batch_run(base: str, headers: dict, inventories: list[str]) -> float | None:
    async def run() -> float | None:
        async with httpx.AsyncClient(timeout=120) as client:
            started = time.perf_counter()
            response = await client.post(f"{base}/api/v1/batches", headers=headers, json={"inventory_ids": inventories})
            if response.status_code in (404, 405):
                return None  # a service without batches
            assert response.status_code == 202, response.text
            job = await follow(client, base, headers, response.json()["id"], wait=30)
            seconds = time.perf_counter() - started
            batch = (await client.get(f"{base}/api/v1/batches/{job['id']}", headers=headers)).json()
            assert batch["succeeded"] == len(inventories), batch
            return seconds / len(inventories)

    return asyncio.run(run())


def read_cpu(url: str, headers: dict, pid: int) -> tuple[float, float]:
    """(API process CPU microseconds per read, reads per second) at READ_CLIENTS clients."""

    async def read(client, _i):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text

    asyncio.run(closed_loop(300, READ_CLIENTS, read))  # warm-up
    cpu = cpu_seconds(pid)
    wall = asyncio.run(closed_loop(READS, READ_CLIENTS, read))
    return (cpu_seconds(pid) - cpu) / READS * 1e6, READS / wall


def revocation(world, bases: list[str], path: str) -> list[float]:
    """Milliseconds from the revocation's answer (through the first process) to the first 401 of each process."""
    from tests.service import PASSWORD

    token = world.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "acme-engineer@test.example", "password": PASSWORD},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    async def run() -> list[float]:
        async with httpx.AsyncClient(timeout=10) as client:
            for base in bases:  # each process checks the token and keeps it
                for _ in range(3):
                    assert (await client.get(f"{base}{path}", headers=headers)).status_code == 200
            revoked_at: list[float] = []
            refused: dict[str, float] = {}

            async def watch(base: str) -> None:
                while time.monotonic() < deadline:
                    status = (await client.get(f"{base}{path}", headers=headers)).status_code
                    if status == 401 and revoked_at:
                        refused[base] = time.monotonic()
                        return
                    await asyncio.sleep(0.002)

            async def revoke() -> None:
                await asyncio.sleep(0.1)
                answer = await client.post(f"{bases[0]}/api/v1/auth/revoke", headers=headers)
                assert answer.status_code == 204, answer.text
                revoked_at.append(time.monotonic())

            deadline = time.monotonic() + 5
            await asyncio.gather(revoke(), *(watch(base) for base in bases))
            return [(refused.get(base, deadline) - revoked_at[0]) * 1000 for base in bases]

    return asyncio.run(run())


def embedded(results: dict, only_queue: bool = False) -> None:
    from footprint_api.persistence.migrate import upgrade
    from tests.processes import Process, api_process, free_port, wait_ready
    from tests.service import World, configure, seed_world

    with tempfile.TemporaryDirectory(prefix="pcf-bench-service-") as scratch:
        logs = Path(scratch)
        url = f"sqlite:///{scratch}/pcf.db"
        configure(url, PCF_TASK_MODE="in_process")
        upgrade(url)
        env = {**os.environ, "PCF_DATABASE_URL": url, "PCF_TASK_MODE": "in_process"}
        ports = [free_port(), free_port(), free_port()]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        api = api_process(env, ports[0], logs).start()
        second = Process(f"api{ports[1]}", [*api_process(env, ports[1], logs).args], env, logs).start()
        bare = Process(
            "bare",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports[2]),
                "--log-level",
                "warning",
            ],
            env,
            logs,
        ).start()
        try:
            for base, process in zip(bases, (api, second, bare), strict=True):
                wait_ready(f"{base}/{'async' if process is bare else 'readyz'}", process, timeout=120)
            with httpx.Client(base_url=bases[0], timeout=120) as client:
                world = World(client, seed_world())
                headers = world.as_("acme-engineer")
                product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "bench aluminium")
                started = time.perf_counter()
                inventories = submit_inventories(bases[0], headers, product["id"], 1 if only_queue else BATCH)
                print(f"  ({len(inventories)} inventories submitted in {time.perf_counter() - started:.1f} s)")
                job = world.calculate("acme-engineer", inventories[0], timeout=120)
                footprint_url = f"{bases[0]}/api/v1/footprints/{job['footprint_id']}"
                size = len(httpx.get(footprint_url, headers=headers).content)
                results["footprint_kib"] = size / 1024
                profiler = profile(api.process.pid, logs)
                for _ in range(RUNS):
                    rate, cpu_ms = queue_throughput(bases[0], headers, inventories[0], api.process.pid)
                    results.setdefault("jobs_per_s", []).append(rate)
                    results.setdefault("cpu_ms_per_job", []).append(cpu_ms)
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(60)
                if only_queue:
                    return
                for _ in range(RUNS):
                    per = batch_run(bases[0], headers, inventories)
                    if per is not None:
                        results.setdefault("batch_ms_per_footprint", []).append(per * 1000)
                for _ in range(RUNS):
                    read_us, read_rate = read_cpu(footprint_url, headers, api.process.pid)
                    bare_us, bare_rate = read_cpu(f"{bases[2]}/async", {}, bare.process.pid)
                    results.setdefault("read_us", []).append(read_us)
                    results.setdefault("read_per_s", []).append(read_rate)
                    results.setdefault("bare_us", []).append(bare_us)
                    results.setdefault("bare_per_s", []).append(bare_rate)
                    results.setdefault("read_multiple", []).append(read_us / bare_us)
                for _ in range(RUNS):
                    results.setdefault("revocation_ms", []).append(
                        max(revocation(world, bases[:2], footprint_url.removeprefix(bases[0])))
                    )
            results["api_peak_rss_mib"] = peak_rss_mib(api.process.pid)
        finally:
            for process in (api, second, bare):
                process.stop()


def peak_rss_mib(pid: int) -> float:
    """The highest resident memory of a process so far (VmHWM of /proc/<pid>/status), MiB: here the embedded API
    process, which also runs the calculations (queue, batches) on its own engine."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def profile(pid: int, logs: Path) -> subprocess.Popen | None:
    """With PCF_BENCH_PROFILE=<file.svg|.txt>: py-spy records the API process (GIL holder only) during the queue runs."""
    out = os.environ.get("PCF_BENCH_PROFILE")
    if not out:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    fmt = "raw" if out.endswith(".txt") else "flamegraph"
    return subprocess.Popen(
        [
            str(spy),
            "record",
            *(["--gil"] if os.environ.get("PCF_BENCH_PROFILE_GIL", "1") == "1" else []),
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            fmt,
            "--output",
            out,
        ],
        stdout=(logs / "py-spy.log").open("ab"),
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    """`--only queue`: the engine alone and the queue throughput only (the figure compared before and after a change
    to the job path)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["queue"], help="run the engine alone and this part only")
    only_queue = parser.parse_args().only == "queue"
    results: dict = {}
    rates = engine_alone()
    print(f"engine alone (aluminium, warm, in this process)      {spread(rates, 'footprints/s', 0)}")
    if not only_queue:
        tx = transactions_per_job()
        print(
            f"transactions per calculation job (SQLite)            {tx['IMMEDIATE']:.1f} write (BEGIN IMMEDIATE), "
            f"{tx['DEFERRED']:.1f} read-only"
        )
    embedded(results, only_queue)
    jobs = results["jobs_per_s"]
    print(
        f"queue, embedded, {JOB_CLIENTS} clients, long-poll              {spread(jobs, 'jobs/s')}  "
        f"= 1/{statistics.median(rates) / statistics.median(jobs):.0f} of the engine alone (goal >= 100 jobs/s)"
    )
    print(f"  API process CPU per job                            {spread(results['cpu_ms_per_job'], 'ms')}")
    print(f"  bench client CPU per job (same cores)              {spread(CLIENT_CPU_MS, 'ms')}")
    if only_queue:
        return
    if "api_peak_rss_mib" in results:
        print(
            f"  API process peak resident memory (embedded: API and worker in one) "
            f"{results['api_peak_rss_mib']:.0f} MiB (goal <= 1,536)"
        )
    if "batch_ms_per_footprint" in results:
        print(
            f"batch of {BATCH} inventories, one job                  "
            f"{spread(results['batch_ms_per_footprint'], 'ms per footprint', 2)} (POST to finished)"
        )
    else:
        print("batch: not offered by this service")
    print(
        f"footprint read ({results['footprint_kib']:.1f} KiB), {READ_CLIENTS} clients, API CPU    "
        f"{spread(results['read_us'], 'us/read', 0)}  ({spread(results['read_per_s'], 'reads/s', 0)})"
    )
    print(
        f"bare async endpoint, {READ_CLIENTS} clients, same measure        "
        f"{spread(results['bare_us'], 'us/read', 0)}  ({spread(results['bare_per_s'], 'reads/s', 0)})"
    )
    print(f"  read / bare                                        {spread(results['read_multiple'], 'x')} (goal <= 8x)")
    print(
        f"revocation seen by both API processes               {spread(results['revocation_ms'], 'ms', 0)} "
        "(slower of the two; bound 250 ms)"
    )


if __name__ == "__main__":
    main()
