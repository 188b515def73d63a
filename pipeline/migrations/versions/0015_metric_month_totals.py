"""metric_month_totals: each month's sum and row count per (channel, audience, objective, metric), kept
by triggers on `metrics` in the writing transaction, so a report reads a few hundred totals rather
than summing millions of rows; every writer (imports, corrections, pulls, counted clicks) is covered.
ix_metrics_read (replacing ix_metrics_totals) covers a period's other reads, where its figures came from

Revision ID: 0015
Revises: 0010
Create Date: 2026-11-22 22:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0010'
branch_labels = None
depends_on = None

GROUP = "channel, audience, objective, metric"
SQLITE_MONTH = "date({row}.day, 'start of month')"
PG_MONTH = "date_trunc('month', {row}.day)::date"


def _add(month: str) -> str:
    row = month.format(row="NEW")
    return (
        f"INSERT INTO metric_month_totals (month, {GROUP}, total, rows) "
        f"VALUES ({row}, NEW.channel, NEW.audience, NEW.objective, NEW.metric, NEW.value, 1) "
        f"ON CONFLICT (month, {GROUP}) DO UPDATE SET total = metric_month_totals.total + excluded.total, "
        "rows = metric_month_totals.rows + 1;"
    )


def _take(month: str) -> str:
    row = month.format(row="OLD")
    return (
        "UPDATE metric_month_totals SET total = total - OLD.value, rows = rows - 1 "
        f"WHERE month = {row} AND channel = OLD.channel AND audience = OLD.audience "
        "AND objective = OLD.objective AND metric = OLD.metric;"
    )


READ_COLUMNS = [
    'day', 'objective', 'metric', 'source', 'channel', 'account', 'audience', 'value', 'recorded_at', 'gone_at'
]


def upgrade() -> None:
    op.drop_index('ix_metrics_totals', table_name='metrics')
    op.create_index('ix_metrics_read', 'metrics', READ_COLUMNS)
    op.create_table(
        'metric_month_totals',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('objective', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'channel', 'audience', 'objective', 'metric'),
    )
    if op.get_bind().dialect.name == "postgresql":
        month = PG_MONTH
        op.execute(
            "CREATE OR REPLACE FUNCTION metric_month_totals_keep() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_take(month)} END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_add(month)} END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER metric_month_totals_keep AFTER INSERT OR UPDATE OR DELETE ON metrics "
            "FOR EACH ROW EXECUTE FUNCTION metric_month_totals_keep()"
        )
    else:
        month = SQLITE_MONTH
        op.execute(f"CREATE TRIGGER metric_month_totals_insert AFTER INSERT ON metrics BEGIN {_add(month)} END")
        op.execute(f"CREATE TRIGGER metric_month_totals_delete AFTER DELETE ON metrics BEGIN {_take(month)} END")
        op.execute(
            f"CREATE TRIGGER metric_month_totals_update AFTER UPDATE ON metrics BEGIN {_take(month)} {_add(month)} END"
        )
    op.execute(
        f"INSERT INTO metric_month_totals (month, {GROUP}, total, rows) "
        f"SELECT {month.format(row='metrics')}, {GROUP}, SUM(value), COUNT(*) FROM metrics "
        f"GROUP BY {month.format(row='metrics')}, {GROUP}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS metric_month_totals_keep ON metrics")
        op.execute("DROP FUNCTION IF EXISTS metric_month_totals_keep()")
    else:
        for verb in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS metric_month_totals_{verb}")
    op.drop_table('metric_month_totals')
    op.drop_index('ix_metrics_read', table_name='metrics')
    op.create_index(
        'ix_metrics_totals', 'metrics', ['day', 'channel', 'audience', 'objective', 'metric', 'value']
    )
