"""feeds.paused: a feed paused from the web workspace is not polled until resumed; ix_metrics_totals:
a period's totals summed from an index alone (millions of metric rows)

Revision ID: 0010
Revises: 0014
Create Date: 2026-11-22 21:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds') as batch:
        batch.add_column(sa.Column('paused', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        'ix_metrics_totals', 'metrics', ['day', 'channel', 'audience', 'objective', 'metric', 'value']
    )


def downgrade() -> None:
    op.drop_index('ix_metrics_totals', table_name='metrics')
    with op.batch_alter_table('feeds') as batch:
        batch.drop_column('paused')
