"""seed the PCR versions added to the package after 0011: clinker 1.0.0 (a kiln's clinker label), cement 1.2.0
(purchased clinker, classified by cement type and strength class), aluminium 1.3.0 (direct-line electricity), steel
2.0.0 (1 t of a product form, hot rolling included, classified by product form) and flat glass 1.1.0 (classified by
thickness range)

Published as 0011 published its seed (same row shape, same dates, same deterministic ids, no issuer), inserted only
where the version is not there yet, and the registry's generation raised so every process re-reads what is in force.
A downgrade deletes nothing: a published version is kept (the triggers of 0011 refuse it).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 02:00:00
"""

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
import yaml
from alembic import op

from pcr_rules.lifecycle import semver
from pcr_rules.models import PCR
from pcr_rules.registry import DATA_DIR

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SEEDED = (
    "clinker-1.0.0.yaml",
    "cement-1.2.0.yaml",
    "aluminium-1.3.0.yaml",
    "steel-2.0.0.yaml",
    "flat-glass-1.1.0.yaml",
)
EFFECTIVE_FROM, VALID_UNTIL = date(2023, 1, 1), date(2030, 12, 31)  # as 0011's
SEED_NAMESPACE = uuid.UUID("6f1c1b3e-4a57-5d0c-9c77-0d5c2f0a9e11")  # as 0011's: the same id everywhere

_metadata = sa.MetaData()
_pcr = sa.Table(
    "pcr",
    _metadata,
    sa.Column("id", sa.String()),
    sa.Column("steward_id", sa.Uuid()),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_version = sa.Table(
    "pcr_version",
    _metadata,
    sa.Column("id", sa.Uuid()),
    *(sa.Column(name, sa.String()) for name in ("pcr_id", "version", "state", "source")),
    *(sa.Column(name, sa.Integer()) for name in ("major", "minor", "patch")),
    sa.Column("document", sa.JSON()),
    sa.Column("organisation_id", sa.Uuid()),
    *(sa.Column(name, sa.Date()) for name in ("effective_from", "valid_until")),
    *(
        sa.Column(name, sa.DateTime(timezone=True))
        for name in ("created_at", "updated_at", "published_at", "state_changed_at")
    ),
)


def upgrade() -> None:
    connection, now = op.get_bind(), datetime.now(UTC)
    known_pcrs = set(connection.execute(sa.text("SELECT id FROM pcr")).scalars())
    known_versions = set(connection.execute(sa.text("SELECT pcr_id, version FROM pcr_version")).tuples())
    added = 0
    for name in SEEDED:
        path = DATA_DIR / name
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = PCR.model_validate(document)  # a broken file stops here
        if (parsed.id, parsed.version) in known_versions:
            continue
        if parsed.id not in known_pcrs:
            op.bulk_insert(_pcr, [{"id": parsed.id, "steward_id": None, "created_at": now}])
            known_pcrs.add(parsed.id)
        major, minor, patch = semver(parsed.version)
        op.bulk_insert(
            _version,
            [
                {
                    "id": uuid.uuid5(SEED_NAMESPACE, parsed.ref),
                    "pcr_id": parsed.id,
                    "version": parsed.version,
                    "major": major,
                    "minor": minor,
                    "patch": patch,
                    "state": "published",
                    "document": document,
                    "organisation_id": None,
                    "source": f"seed:pcr_rules/data/{name}",
                    "effective_from": EFFECTIVE_FROM,
                    "valid_until": VALID_UNTIL,
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                    "state_changed_at": now,
                }
            ],
        )
        added += 1
    if added:
        op.execute(
            sa.text(
                "UPDATE pcr_registry_state SET generation = generation + 1, changed_at = :now WHERE id = 1"
            ).bindparams(now=now)
        )


def downgrade() -> None:
    pass  # published versions are kept
