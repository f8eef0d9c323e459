"""Devices and positions: devices with hashed secrets, compact position rows, newest fixes.

Positions carry the device's small number and no foreign key: devices are never deleted, and
the hot insert path skips a referential check per row. No position column is nullable (an
unknown reading is -32768), so no row carries a null bitmap.

Revision ID: 43b939d3b7c9
Revises: eaf90ad4ce12
Create Date: 2026-11-27 11:58:04.182192
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.types

revision: str = '43b939d3b7c9'
down_revision: str | Sequence[str] | None = 'eaf90ad4ce12'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('last_positions',
    sa.Column('device_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('recorded_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lat_e7', sa.Integer(), nullable=False),
    sa.Column('lon_e7', sa.Integer(), nullable=False),
    sa.Column('speed_cmps', sa.SmallInteger(), nullable=False),
    sa.Column('heading_deg', sa.SmallInteger(), nullable=False),
    sa.Column('altitude_m', sa.SmallInteger(), nullable=False),
    sa.Column('accuracy_m', sa.SmallInteger(), nullable=False),
    sa.Column('battery_pct', sa.SmallInteger(), nullable=False),
    sa.Column('flags', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('device_no', name=op.f('pk_last_positions'))
    )
    op.create_table('positions',
    sa.Column('recorded_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('device_no', sa.Integer(), nullable=False),
    sa.Column('lat_e7', sa.Integer(), nullable=False),
    sa.Column('lon_e7', sa.Integer(), nullable=False),
    sa.Column('speed_cmps', sa.SmallInteger(), nullable=False),
    sa.Column('heading_deg', sa.SmallInteger(), nullable=False),
    sa.Column('altitude_m', sa.SmallInteger(), nullable=False),
    sa.Column('accuracy_m', sa.SmallInteger(), nullable=False),
    sa.Column('battery_pct', sa.SmallInteger(), nullable=False),
    sa.Column('flags', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('device_no', 'recorded_at', name=op.f('pk_positions'))
    )
    op.create_table('devices',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('driver_member_id', sa.Uuid(), nullable=True),
    sa.Column('vehicle_id', sa.Uuid(), nullable=True),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token_prefix', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('tracker_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('owntracks_user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('rotated_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(driver_member_id IS NULL) <> (vehicle_id IS NULL)', name=op.f('ck_devices_driver_or_vehicle')),
    sa.ForeignKeyConstraint(['created_by_id'], ['memberships.id'], name=op.f('fk_devices_created_by_id_memberships')),
    sa.ForeignKeyConstraint(['driver_member_id'], ['memberships.id'], name=op.f('fk_devices_driver_member_id_memberships')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_devices_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('number', name=op.f('uq_devices_number')),
    sa.UniqueConstraint('owntracks_user', name=op.f('uq_devices_owntracks_user')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_devices_token_hash')),
    sa.UniqueConstraint('tracker_hash', name=op.f('uq_devices_tracker_hash'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_driver_member_id'), ['driver_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_vehicle_id'), ['vehicle_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_devices_organization_id'))
        batch_op.drop_index(batch_op.f('ix_devices_driver_member_id'))

    op.drop_table('devices')
    op.drop_table('positions')
    op.drop_table('last_positions')
