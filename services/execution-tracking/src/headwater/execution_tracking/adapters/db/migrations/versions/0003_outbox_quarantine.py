"""outbox quarantine (rows the broker refused) and the inbox index its purge by age reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00
"""

from headwater.common.messaging.tables import (
    create_outbox_quarantine_and_inbox_age_index,
    drop_outbox_quarantine_and_inbox_age_index,
)
from headwater.execution_tracking import SCHEMA

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    create_outbox_quarantine_and_inbox_age_index(SCHEMA)


def downgrade() -> None:
    drop_outbox_quarantine_and_inbox_age_index(SCHEMA)
