"""job_runs.queue_job_id: the procrastinate job a run belongs to (one row per attempt), so a failed
job's page shows why each attempt failed; empty for the clock's own runs

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 01:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('queue_job_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_job_runs_queue_job_id'), ['queue_job_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_index(batch.f('ix_job_runs_queue_job_id'))
        batch.drop_column('queue_job_id')
