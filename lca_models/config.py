"""Settings of the LCA layer, from the environment (prefix PCF_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_brightway_dir() -> Path:
    return Path.home() / ".local" / "share" / "pcf-service" / "brightway"


class LCASettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PCF_", extra="ignore")

    brightway_dir: Path = Field(
        default_factory=_default_brightway_dir,
        description="Brightway data directory; built once, read-only while serving",
    )
    factor_set: str = "cn-2025.1"
    monte_carlo_seed: int = 20250117
