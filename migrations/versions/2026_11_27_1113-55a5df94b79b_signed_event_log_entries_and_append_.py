"""signed event log entries and append-only guards

Every entry gets the key id and the Ed25519 signature of the platform key over its hash.
Triggers refuse UPDATE, DELETE and TRUNCATE on the log and any change of a subject's head
other than moving forward, on PostgreSQL and on SQLite.

A later batch migration that recreates ``event_log`` or ``event_subjects`` on SQLite drops
these triggers with the old table: such a migration must create them again
(tests/test_migrations.py checks they exist at head).

Revision ID: 55a5df94b79b
Revises: 0a893a238535
Create Date: 2026-11-27 11:13:08.007344
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '55a5df94b79b'
down_revision: str | Sequence[str] | None = '0a893a238535'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_GUARDS = """
CREATE FUNCTION haulpoint_refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the event log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION haulpoint_guard_subject_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.subject = OLD.subject
            AND NEW.last_seq BETWEEN OLD.last_seq AND OLD.last_seq + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on % is refused: a subject''s head only moves forward',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION haulpoint_refuse_log_change();
CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION haulpoint_refuse_log_change();
CREATE TRIGGER event_subjects_forward_only BEFORE UPDATE OR DELETE ON event_subjects
    FOR EACH ROW EXECUTE FUNCTION haulpoint_guard_subject_head();
CREATE TRIGGER event_subjects_no_truncate BEFORE TRUNCATE ON event_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION haulpoint_refuse_log_change();
"""

_POSTGRES_DROP = """
DROP TRIGGER IF EXISTS event_subjects_no_truncate ON event_subjects;
DROP TRIGGER IF EXISTS event_subjects_forward_only ON event_subjects;
DROP TRIGGER IF EXISTS event_log_no_truncate ON event_log;
DROP TRIGGER IF EXISTS event_log_append_only ON event_log;
DROP FUNCTION IF EXISTS haulpoint_guard_subject_head();
DROP FUNCTION IF EXISTS haulpoint_refuse_log_change();
"""

# SQLite has no TRUNCATE: DELETE without WHERE fires the row trigger (the truncate
# optimization is off for tables with triggers).
_SQLITE_GUARDS = (
    """CREATE TRIGGER event_log_no_update BEFORE UPDATE ON event_log
    BEGIN SELECT RAISE(ABORT, 'UPDATE on event_log is refused: the event log is append-only');
    END""",
    """CREATE TRIGGER event_log_no_delete BEFORE DELETE ON event_log
    BEGIN SELECT RAISE(ABORT, 'DELETE on event_log is refused: the event log is append-only');
    END""",
    """CREATE TRIGGER event_subjects_no_delete BEFORE DELETE ON event_subjects
    BEGIN SELECT RAISE(ABORT, 'DELETE on event_subjects is refused: a head only moves forward');
    END""",
    """CREATE TRIGGER event_subjects_forward_only BEFORE UPDATE ON event_subjects
    WHEN NEW.subject <> OLD.subject OR NEW.last_seq < OLD.last_seq
        OR NEW.last_seq > OLD.last_seq + 1
    BEGIN SELECT RAISE(ABORT, 'UPDATE on event_subjects is refused: a head only moves forward');
    END""",
)
_SQLITE_TRIGGERS = (
    "event_log_no_update",
    "event_log_no_delete",
    "event_subjects_no_delete",
    "event_subjects_forward_only",
)


def upgrade() -> None:
    # Entries written before signing existed get an empty signature, which verification
    # reports as unsigned; the defaults exist only to fill those rows and are dropped at once.
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False, server_default=''))
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.alter_column('kid', server_default=None)
        batch_op.alter_column('signature', server_default=None)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARDS)
    else:
        for statement in _SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_DROP)
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('kid')
