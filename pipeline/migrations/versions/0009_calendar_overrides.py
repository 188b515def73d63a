"""calendar_overrides: a person's skip or move of one occurrence, with who and why

Revision ID: 0009
Revises: 0012 (0012 reached main first; the lead may re-chain)
Create Date: 2026-11-22 21:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0012'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'calendar_overrides',
        sa.Column('key', AutoString(length=120), nullable=False),
        sa.Column('entry_id', AutoString(length=80), nullable=False),
        sa.Column('action', AutoString(length=10), nullable=False),
        sa.Column('move_to', UTCDateTime(), nullable=True),
        sa.Column('by', AutoString(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_calendar_overrides_entry_id', 'calendar_overrides', ['entry_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_calendar_overrides_entry_id', table_name='calendar_overrides')
    op.drop_table('calendar_overrides')
