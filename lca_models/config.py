"""Settings of the LCA layer, from the environment (prefix PCF_)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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
    backgrounds_dir: Path | None = Field(
        default=None,
        description="Prepared background packs (<name>/<version>/); default: backgrounds/ beside brightway_dir",
    )
    solver: Literal["superlu", "pardiso"] = Field(
        default="superlu",
        description="Sparse solver of every factorisation; pardiso only when asked and pypardiso is installed",
    )
    background_samples: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Pre-sampled versions of an imported database prepared for Monte Carlo",
    )

    @model_validator(mode="after")
    def _backgrounds_beside_brightway(self) -> "LCASettings":
        if self.backgrounds_dir is None:
            self.backgrounds_dir = self.brightway_dir.parent / "backgrounds"
        return self
