"""Where PCRs come from: versioned YAML files, one per category and version."""

from functools import lru_cache
from pathlib import Path

import yaml

from pcr_rules.errors import PCRNotFound
from pcr_rules.models import PCR

DATA_DIR = Path(__file__).parent / "data"


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


class PCRRegistry:
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
def default_registry() -> PCRRegistry:
    return PCRRegistry()
