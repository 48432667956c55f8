import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "pcr_rules" / "examples").glob("*.json"))


@pytest.fixture(scope="session", autouse=True)
def brightway_dir(tmp_path_factory):
    """One Brightway project per test session, built from bw2io's bundled data (no downloads)."""
    directory = Path(os.environ.get("PCF_TEST_BRIGHTWAY_DIR") or tmp_path_factory.mktemp("brightway"))
    os.environ["PCF_BRIGHTWAY_DIR"] = str(directory)
    return directory


@pytest.fixture(scope="module", autouse=True)
def pcr_source_restored():
    """A module that builds the service (or runs the CLI) installs its database as the PCR source of this process;
    the next module starts again from the source that was installed before (the package's files at first)."""
    from pcr_rules import registry

    before = registry.default_registry().installed
    yield
    registry.install(before)


@pytest.fixture(scope="session")
def engine(brightway_dir):
    from lca_models import get_engine

    return get_engine()


def load_example(name: str) -> dict:
    return json.loads((ROOT / "pcr_rules" / "examples" / name).read_text(encoding="utf-8"))


def inventory(data: dict):
    from pcr_rules.inventory import Inventory

    return Inventory.model_validate(data)


@pytest.fixture(scope="module")
def world(engine, tmp_path_factory):
    """The service in its embedded configuration (SQLite, tasks in-process), over an in-process HTTP client."""
    from fastapi.testclient import TestClient

    from footprint_api.persistence.migrate import upgrade
    from tests.service import World, configure, seed_world

    url = f"sqlite:///{tmp_path_factory.mktemp('service') / 'pcf.db'}"
    configure(url, PCF_TASK_MODE="in_process")
    upgrade(url)
    from footprint_api.app import create_app

    with TestClient(create_app()) as client:
        yield World(client, seed_world())
