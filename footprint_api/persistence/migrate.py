"""Database migrations (Alembic), run at start by `pcf serve` and the deployment."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import ensure_sqlite_directory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None) -> None:
    url = url or get_settings().database_url
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), "head")
