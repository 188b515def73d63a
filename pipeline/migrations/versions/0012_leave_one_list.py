"""subscribers.left_lists: the lists an address left one at a time (its other lists still come)

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-22 21:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('left_lists', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('left_lists')
