"""The embedded service (SQLite, tasks in-process) as a real uvicorn process on a free port, with the test world's
organisations and users: what the page and hardening benchmarks measure against."""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def embedded_service(prefix: str):
    """Yields (base URL, World over HTTP, scratch folder); stops the process afterwards."""
    from footprint_api.persistence.migrate import upgrade
    from tests.processes import api_process, free_port, wait_ready
    from tests.service import World, configure, seed_world

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        url = f"sqlite:///{scratch}/pcf.db"
        configure(url, PCF_TASK_MODE="in_process")
        upgrade(url)
        env = {**os.environ, "PCF_DATABASE_URL": url, "PCF_TASK_MODE": "in_process"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = api_process(env, port, Path(scratch)).start()
        try:
            wait_ready(f"{base}/readyz", process, timeout=120)
            with httpx.Client(base_url=base, timeout=60) as client:
                yield base, World(client, seed_world()), Path(scratch)
        finally:
            process.stop()
