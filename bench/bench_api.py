"""HTTP API under load from a second process: a stored footprint read, and calculations submitted through the queue.

Two stacks, each a real uvicorn process (one worker) measured over loopback:
- embedded: SQLite, calculations on the API's in-process thread pool (what `make run` starts);
- production-shaped, when PostgreSQL and Redis answer: PostgreSQL, Celery on Redis, one worker process (2 slots).

Load: asyncio + httpx clients at a fixed concurrency, closed loop (each client sends its next request when the last
one is answered). Latency is request to response; for calculations, POST to the job's `succeeded` state.
"""

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.stats import line, summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

READS = 3000
READ_CONCURRENCY = (1, 16, 64)
CALCULATIONS = 60
CALCULATION_CONCURRENCY = 8
POSTGRES = os.environ.get("PCF_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("PCF_BENCH_REDIS", "redis://127.0.0.1:6379/12")


async def closed_loop(count: int, concurrency: int, request) -> tuple[list[float], float]:
    """Runs request(client, i) count times from `concurrency` clients; returns latencies and wall seconds."""
    latencies: list[float] = []
    queue = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    errors: list[str] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in queue:
            started = time.perf_counter()
            try:
                await request(client, i)
            except httpx.TransportError as exc:  # counted and shown, not hidden in the latencies
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    if errors:
        print(f"  transport errors: {len(errors)} ({', '.join(sorted(set(errors)))})")
    return latencies, time.perf_counter() - started


def report(label: str, latencies: list[float], wall: float) -> None:
    stats = summary(latencies)
    stats["per_s"] = len(latencies) / wall  # throughput of the whole run, not 1 / mean latency
    print(line(label, stats))


def prepare(world, base: str) -> tuple[dict, str, str]:
    """A product, its inventory and one finished footprint of the aluminium example."""
    from tests.labelling import unique_serials  # batches of their own, their serials still numbered

    data = unique_serials(json.loads((ROOT / "pcr_rules" / "examples" / "aluminium-guizhou-2023.json").read_text()))
    product = world.product("acme-engineer", "PCR-CN-ALUMINIUM", "bench aluminium")
    submitted = world.submit("acme-engineer", product["id"], data)
    assert submitted.status_code == 201, submitted.text
    inventory = submitted.json()
    job = world.calculate("acme-engineer", inventory["id"], timeout=120)
    assert job["status"] == "succeeded", job
    return world.as_("acme-engineer"), inventory["id"], job["footprint_id"]


def measure(stack_name: str, base: str, headers: dict, inventory_id: str, footprint_id: str) -> None:
    async def read(client, _i):
        response = await client.get(f"{base}/api/v1/footprints/{footprint_id}", headers=headers)
        assert response.status_code == 200, response.text

    async def calculate(client, _i):
        response = await client.post(f"{base}/api/v1/inventories/{inventory_id}/calculations", headers=headers, json={})
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        while True:
            job = (await client.get(f"{base}/api/v1/jobs/{job_id}", headers=headers)).json()
            if job["status"] == "succeeded":
                return
            assert job["status"] != "failed", job
            await asyncio.sleep(0.02)

    asyncio.run(closed_loop(200, 8, read))  # warm-up
    size = len(httpx.get(f"{base}/api/v1/footprints/{footprint_id}", headers=headers).content)
    print(f"{stack_name}: GET /api/v1/footprints/{{id}} (stored full result, {size / 1024:.0f} KiB JSON)")
    for concurrency in READ_CONCURRENCY:
        report(
            f"  {concurrency:>3} concurrent clients, {READS} reads", *asyncio.run(closed_loop(READS, concurrency, read))
        )
    print(
        f"{stack_name}: POST calculation -> job succeeded (aluminium, full result stored), "
        f"{CALCULATION_CONCURRENCY} concurrent clients"
    )
    report(
        f"  {CALCULATIONS} calculations", *asyncio.run(closed_loop(CALCULATIONS, CALCULATION_CONCURRENCY, calculate))
    )


def run_stack(slug: str, stack_name: str, database_url: str, extra: dict[str, str], workers: int) -> None:
    from footprint_api.persistence.migrate import upgrade
    from tests.processes import api_process, free_port, wait_ready, worker_process
    from tests.service import World, configure, seed_world

    logs = Path(tempfile.mkdtemp(prefix=f"pcf-bench-{slug}-"))
    configure(database_url, **extra)
    upgrade(database_url)
    env = {**os.environ, "PCF_DATABASE_URL": database_url, **extra}  # configure() set a throw-away signing key
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = [api_process(env, port, logs).start()]
    processes += [worker_process(env, logs, name=f"worker{n}").start() for n in range(workers)]
    try:
        wait_ready(f"{base}/readyz", processes[0], timeout=120)
        with httpx.Client(base_url=base, timeout=60) as client:
            world = World(client, seed_world())
            measure(stack_name, base, *prepare(world, base))
    finally:
        for process in processes:
            process.stop()


def services_available() -> str | None:
    import psycopg
    import redis

    try:
        with psycopg.connect(POSTGRES, connect_timeout=3):
            pass
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as exc:
        return str(exc).splitlines()[0]
    return None


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pcf-bench-") as scratch:
        run_stack(
            "embedded",
            "embedded (SQLite, in-process tasks)",
            f"sqlite:///{scratch}/pcf.db",
            {"PCF_TASK_MODE": "in_process"},
            workers=0,
        )
    missing = services_available()
    if missing:
        print(f"production-shaped stack skipped: {missing}")
        return
    import psycopg
    import redis

    name = f"pcf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS).flushdb()
    try:
        url = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        run_stack(
            "celery",
            "PostgreSQL + Celery on Redis (1 worker process, 2 slots)",
            url,
            {"PCF_TASK_MODE": "celery", "PCF_BROKER_URL": REDIS},
            workers=1,
        )
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
