"""the team workspace: users, sign-in attempts, the append-only audit log, approvals per version,
item versions, comments, and how many approvals an item needs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime
APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', AutoString(length=254), nullable=False),
        sa.Column('name', AutoString(), nullable=False),
        sa.Column('role', AutoString(), nullable=False),
        sa.Column('password_hash', AutoString(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('source', AutoString(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_signin_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
    )
    op.create_table(
        'signin_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', AutoString(length=300), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_signin_attempts_key_at', 'signin_attempts', ['key', 'at'], unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor', AutoString(), nullable=False),
        sa.Column('actor_kind', AutoString(), nullable=False),
        sa.Column('action', AutoString(), nullable=False),
        sa.Column('target', AutoString(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('at', 'actor', 'action'):
        op.create_index(f'ix_audit_log_{column}', 'audit_log', [column], unique=False)
    op.create_table(
        'approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('content_hash', AutoString(length=64), nullable=False),
        sa.Column('by', AutoString(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('outbox_id', 'content_hash', 'by'),
    )
    op.create_index('ix_approvals_outbox_id', 'approvals', ['outbox_id'], unique=False)
    op.create_table(
        'item_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('content_hash', AutoString(length=64), nullable=False),
        sa.Column('subject', AutoString(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('by', AutoString(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('outbox_id', 'content_hash'),
    )
    op.create_index('ix_item_versions_outbox_id', 'item_versions', ['outbox_id'], unique=False)
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('content_hash', AutoString(length=64), nullable=False),
        sa.Column('by', AutoString(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_comments_outbox_id', 'comments', ['outbox_id'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('approvals_required', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('channels') as batch:
        batch.add_column(sa.Column('approvals', sa.Integer(), nullable=False, server_default='1'))
    # The version each existing item holds now, so its history starts somewhere.
    op.execute(
        "INSERT INTO item_versions (outbox_id, content_hash, subject, body, html, \"by\", at) "
        "SELECT id, content_hash, subject, body, html, COALESCE(edited_by, created_by, 'clock'), updated_at FROM outbox"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('approvals')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('approvals_required')
    for name in ('comments', 'item_versions', 'approvals', 'audit_log', 'signin_attempts', 'users'):
        op.drop_table(name)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
