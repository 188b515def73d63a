"""rate_buckets: sends per provider credential per time bucket, shared by every worker (PostgreSQL)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 19:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_buckets',
        sa.Column('credential', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('period', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('credential', 'period', 'bucket'),
    )


def downgrade() -> None:
    op.drop_table('rate_buckets')
