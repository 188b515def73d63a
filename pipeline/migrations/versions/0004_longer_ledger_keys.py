"""ledger keys up to 400 characters: a send key holds the channel, the item and an address of up to 254

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:40:00
"""
from alembic import op
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger') as batch:
        batch.alter_column(
            'key',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=300),
            type_=sqlmodel.sql.sqltypes.AutoString(length=400),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('ledger') as batch:
        batch.alter_column(
            'key',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=400),
            type_=sqlmodel.sql.sqltypes.AutoString(length=300),
            existing_nullable=False,
        )
