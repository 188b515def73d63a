"""feeds.internal: an intranet feed whose own host may be on a private address

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds') as batch:
        batch.add_column(sa.Column('internal', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('feeds') as batch:
        batch.drop_column('internal')
