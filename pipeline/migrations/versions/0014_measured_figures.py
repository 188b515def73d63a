"""measured figures: the account and deletion of a pulled figure's post; the last pull per channel

Revision ID: 0014
Revises: 0009
Create Date: 2026-11-22 21:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('metrics') as batch:
        batch.add_column(
            sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default='')
        )
        batch.add_column(sa.Column('gone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        'measure_pulls',
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('last_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_success_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('posts', sa.Integer(), nullable=False),
        sa.Column('figures', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('channel'),
    )


def downgrade() -> None:
    op.drop_table('measure_pulls')
    with op.batch_alter_table('metrics') as batch:
        batch.drop_column('gone_at')
        batch.drop_column('account')
