"""metric corrections: each figure knows the import that added it and who recorded it last, and each
import of a file is recorded, so a re-import replaces what the same file added before

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'metric_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', AutoString(), nullable=False),
        sa.Column('content_hash', AutoString(length=64), nullable=False),
        sa.Column('options', AutoString(), nullable=False),
        sa.Column('months', AutoString(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.Column('imported_by', AutoString(), nullable=False),
        sa.Column('replaced_by', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_metric_imports_name', 'metric_imports', ['name'], unique=False)
    op.create_index('ix_metric_imports_content_hash', 'metric_imports', ['content_hash'], unique=False)
    # Recreated on SQLite with AUTOINCREMENT, so a removed figure's id is never reused.
    with op.batch_alter_table('metrics', recreate='auto', table_kwargs={'sqlite_autoincrement': True}) as batch:
        batch.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('recorded_by', AutoString(), nullable=False, server_default=''))
        batch.add_column(sa.Column('recorded_at', UTCDateTime(), nullable=True))
        batch.create_index('ix_metrics_import_id', ['import_id'], unique=False)
        batch.create_foreign_key('fk_metrics_import_id', 'metric_imports', ['import_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('metrics') as batch:
        batch.drop_constraint('fk_metrics_import_id', type_='foreignkey')
        batch.drop_index('ix_metrics_import_id')
        batch.drop_column('recorded_at')
        batch.drop_column('recorded_by')
        batch.drop_column('import_id')
    op.drop_index('ix_metric_imports_content_hash', table_name='metric_imports')
    op.drop_index('ix_metric_imports_name', table_name='metric_imports')
    op.drop_table('metric_imports')
