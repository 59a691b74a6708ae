"""initial schema: outbox, its quarantine and the inbox

Revision ID: 0001
Revises:
Create Date: 2026-12-03 16:10:00
"""

from headwater.common.messaging.tables import (
    create_outbox_and_inbox,
    create_outbox_quarantine_and_inbox_age_index,
    drop_outbox_and_inbox,
    drop_outbox_quarantine_and_inbox_age_index,
)
from headwater.ingestion import SCHEMA

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    create_outbox_quarantine_and_inbox_age_index(SCHEMA)


def downgrade() -> None:
    drop_outbox_quarantine_and_inbox_age_index(SCHEMA)
    drop_outbox_and_inbox(SCHEMA)
