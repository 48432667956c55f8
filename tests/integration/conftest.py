"""The integration stack: real PostgreSQL, Redis, a Celery worker process and the API over HTTP.

In CI (CI=true) these tests must run: a missing service fails the run instead of skipping it.
"""

import os
import uuid

import httpx
import pytest

from tests.processes import api_process, free_port, wait_ready, worker_process

POSTGRES = os.environ.get("PCF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# one Redis database per pytest-xdist worker: two workers' Celery workers must not take each other's tasks
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS = os.environ.get("PCF_TEST_REDIS", f"redis://127.0.0.1:6379/{11 + _WORKER}")


def unavailable(what: str, error: Exception):
    message = f"{what} is not reachable ({error})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: integration tests must run in CI")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url():
    import psycopg

    name = f"pcf_it_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    yield POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def own_database(postgres_url):
    """A migrated database of the module's own on the test server, dropped after it: for a module that seeds its
    own world or empties whole tables, so that the shared stack database (seeded once per worker) stays as the
    other modules expect it."""
    import psycopg

    from footprint_api.persistence.migrate import upgrade

    name = f"pcf_own_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url():
    import redis

    try:
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=5)
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    return REDIS


@pytest.fixture(scope="session")
def stack_env(engine, postgres_url, redis_url, brightway_dir):
    from footprint_api.persistence.migrate import upgrade
    from tests.service import configure

    # a dead worker's task comes back after 8 s (longer than any calculation of these tests), looked for every 1 s
    extra = {
        "PCF_TASK_MODE": "celery",
        "PCF_BROKER_URL": redis_url,
        "PCF_VISIBILITY_TIMEOUT_SECONDS": "8",
        "PCF_UNACKED_RESTORE_INTERVAL_SECONDS": "1",
        "PCF_UNACKED_RESTORE_THROTTLE": "1",
        # a redelivery of a running job waits for its lease: short leases keep the worker-killed test short
        "PCF_JOB_LEASE_SECONDS": "10",
        "PCF_JOB_HEARTBEAT_SECONDS": "1",
        "PCF_BRIGHTWAY_DIR": str(brightway_dir),
    }
    configure(postgres_url, **extra)
    upgrade(postgres_url)
    return {**os.environ, "PCF_DATABASE_URL": postgres_url, **extra}


@pytest.fixture(scope="session")
def stack(stack_env, tmp_path_factory):
    """API process and one worker; yields (World over HTTP, environment, log directory)."""
    from tests.service import World, configure, seed_world

    logs = tmp_path_factory.mktemp("stack-logs")
    port = free_port()
    api = api_process(stack_env, port, logs).start()
    worker = worker_process(stack_env, logs).start()
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", api)
        configure(
            stack_env["PCF_DATABASE_URL"],
            **{k: stack_env[k] for k in ("PCF_TASK_MODE", "PCF_BROKER_URL", "PCF_VISIBILITY_TIMEOUT_SECONDS")},
        )
        world = World(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30), seed_world())
        yield world, stack_env, logs, worker
    finally:
        for process in (api, worker):
            process.stop()


@pytest.fixture(autouse=True)
def points_at_the_stack(request):
    """A test of the stack reads and writes the stack's database from this process too: other modules of the same
    process (run before it on the same pytest-xdist worker) may have pointed the service at their own SQLite file."""
    uses_stack = "stack" in request.fixturenames or "stack_env" in request.fixturenames
    if uses_stack and "own_database" not in request.fixturenames:  # a module on a database of its own set it
        from tests.service import configure

        env = request.getfixturevalue("stack_env")
        keys = ("PCF_TASK_MODE", "PCF_BROKER_URL", "PCF_VISIBILITY_TIMEOUT_SECONDS")
        configure(env["PCF_DATABASE_URL"], **{k: env[k] for k in keys})
    yield
