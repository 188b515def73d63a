"""send claims with an owner and a lease; who created and last edited an outbox item

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:15:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger') as batch:
        batch.add_column(sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.create_index(batch.f('ix_ledger_lease_until'), ['lease_until'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('edited_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('edited_by')
        batch.drop_column('created_by')
    with op.batch_alter_table('ledger') as batch:
        batch.drop_index(batch.f('ix_ledger_lease_until'))
        batch.drop_column('lease_until')
        batch.drop_column('owner')
