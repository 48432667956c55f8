"""Where PCRs come from. `default_registry()` is the one registry every reader asks (`get(id, version)`, `list()`);
what answers is its source: the versioned YAML files shipped with the package (`pcr_rules/data/`) unless a program
installs another. The service installs its database of published versions at start (footprint_api.services.pcrs),
so the engine, the forms and the reports read what the standards bodies published, without a change of their own;
a notebook, the pure domain and the tests without a database keep the files.
"""

import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import yaml

from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR

DATA_DIR = Path(__file__).parent / "data"


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


class PCRSource(Protocol):
    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        """The version asked for (any ever published), or without one the newest in force; PCRNotFound otherwise."""

    def list(self) -> list[PCR]:
        """The versions in force, ordered by id and version."""


class PCRRegistry:
    """The PCR files of a folder, one per category and version: the seed of the service's registry, and the source
    wherever there is no database."""

    def __init__(self, directory: Path = DATA_DIR):
        self._pcrs: dict[tuple[str, str], PCR] = {}
        for path in sorted(directory.glob("*.yaml")):
            pcr = PCR.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
            self._pcrs[(pcr.id, pcr.version)] = pcr

    def list(self) -> list[PCR]:
        return sorted(self._pcrs.values(), key=lambda p: (p.id, _version_key(p.version)))

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        if version is not None:
            try:
                return self._pcrs[(pcr_id, version)]
            except KeyError:
                raise PCRNotFound(pcr_id, version) from None
        versions = [p for (i, _), p in self._pcrs.items() if i == pcr_id]
        if not versions:
            raise PCRNotFound(pcr_id)
        return max(versions, key=lambda p: _version_key(p.version))


@lru_cache(maxsize=1)
def file_registry() -> PCRRegistry:
    """The files shipped with the package, read once per process."""
    return PCRRegistry()


class InstalledRegistry:
    """The registry of the process: one object for its whole life (an engine built before the service installed its
    source still reads the installed one), answering from the installed source or, without one, the files."""

    def __init__(self) -> None:
        self._source: PCRSource | None = None
        self._lock = threading.Lock()

    @property
    def installed(self) -> PCRSource | None:
        """The source a program installed (None: the files)."""
        return self._source

    @property
    def source(self) -> PCRSource:
        return self._source or file_registry()

    def install(self, source: PCRSource | None) -> None:
        with self._lock:
            self._source = source

    def get(self, pcr_id: str, version: str | None = None) -> PCR:
        return self.source.get(pcr_id, version)

    def list(self) -> list[PCR]:
        return self.source.list()


_REGISTRY = InstalledRegistry()


def default_registry() -> InstalledRegistry:
    return _REGISTRY


def install(source: PCRSource | None) -> None:
    """Make `source` answer every `default_registry()` of this process; None: back to the files."""
    _REGISTRY.install(source)
