"""Processes of a production-shaped stack for tests: the API under uvicorn, Celery workers on Redis, and a private
PostgreSQL cluster a test may stop and start."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.args, self.env, self.log = name, args, env, log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        handle = open(self.log, "ab")  # noqa: SIM115 - the child process writes to it until stop() closes it
        self.process = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, no acknowledgement, like a crashed machine."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def api_process(env: dict[str, str], port: int, log_dir: Path) -> Process:
    return Process(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "footprint_api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env,
        log_dir,
    )


def worker_process(env: dict[str, str], log_dir: Path, name: str = "worker", concurrency: int = 2) -> Process:
    return Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "footprint_api.tasks",
            "worker",
            "-Q",
            "pcf",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        env,
        log_dir,
    )


def wait_ready(url: str, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready in {timeout} s:\n{process.tail()}")


POSTGRES_BIN = Path(os.environ.get("PCF_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresCluster:
    """A private PostgreSQL cluster for a test that stops and starts its database: initdb in a temporary directory,
    served on a free port of 127.0.0.1 (never the machine's shared server). As root, the cluster runs as the
    `postgres` system user (PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path = POSTGRES_BIN):
        # its own directory right under the temporary directory: the `postgres` user must reach it (a pytest tmp_path
        # lies under a directory only root may enter)
        self.root, self.bin = Path(tempfile.mkdtemp(prefix="pcf-postgres-")), Path(bin_dir)
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def available(self) -> bool:
        return (self.bin / "initdb").exists() and (self.bin / "pg_ctl").exists()

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            timeout=timeout,
            user=self.user,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} {args[1:3]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def init(self) -> "PostgresCluster":
        if self.user:
            shutil.chown(self.root, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> "PostgresCluster":
        """Starts the server and waits until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stops the server: `fast` ends every session (its clients get "terminating connection due to
        administrator command"), `immediate` as a crash would."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(driver="postgresql"), autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresCluster":
        try:
            return self.init().start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *_exc) -> None:
        self.destroy()


class RedisServer:
    """A private redis-server on a free port of 127.0.0.1, for a test that kills and restarts its broker (never the
    machine's shared Redis). Without persistence: a restart comes back empty, as a broker that lost its data."""

    def __init__(self, binary: str = "redis-server"):
        self.binary, self.port = shutil.which(binary) or binary, free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pcf-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> "RedisServer":
        """Starts the server on its port and waits until it answers PING."""
        import redis

        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - the server writes to it until it stops
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout} s")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes mid-conversation, as a crashed machine's would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.destroy()
