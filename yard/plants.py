"""A plant operator sets up its yard: the settings of a plant and its docks.

Only the plant's own organization sees or changes them; another organization's plant
answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import MANAGERS, OPERATORS, SiteKind
from accounts.exceptions import RoleRequired
from accounts.models import Site
from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError, RuleViolation
from dispatch.guards import check_version
from yard import repository
from yard.calendar import check_opening_hours
from yard.enums import DockState
from yard.events import on_plant
from yard.exceptions import DockNotFound, DockStateConflict, PlantNotFound
from yard.fences import check_fence
from yard.models import Dock, PlantYard


@dataclass(frozen=True)
class Plant:
    """A plant's site and its yard settings."""

    site: Site
    yard: PlantYard


def require_operator(principal: Principal) -> None:
    """Gate and yard work is for the plant's owner, admins, dispatchers and clerks."""
    if principal.role not in OPERATORS:
        raise RoleRequired("only the plant's owner, admins, dispatchers and clerks run its yard")


async def own_site(session: AsyncSession, *, principal: Principal, site_id: uuid.UUID) -> Site:
    """A plant site of the caller's organization (404 for any other)."""
    site = await repository.site(session, site_id)
    if (
        site is None
        or site.organization_id != principal.organization_id
        or site.kind is not SiteKind.PLANT
    ):
        raise PlantNotFound("no such plant among your sites")
    return site


async def own_plant(session: AsyncSession, *, principal: Principal, site_id: uuid.UUID) -> Plant:
    """A plant of the caller's organization with its yard set up (404 otherwise)."""
    site = await own_site(session, principal=principal, site_id=site_id)
    found = await repository.plant_yard(session, site.id)
    if found is None:
        raise PlantNotFound("the plant's yard is not set up yet")
    return Plant(site=site, yard=found)


async def plant_of_site(session: AsyncSession, site_id: uuid.UUID) -> Plant | None:
    """A plant and its yard settings, whoever asks (callers check who may see them)."""
    site = await repository.site(session, site_id)
    found = None if site is None else await repository.plant_yard(session, site.id)
    return None if site is None or found is None else Plant(site=site, yard=found)


def _invalid(field: str, message: str, code: str = "validation_failed") -> RuleViolation:
    return RuleViolation(message, code=code, errors=[FieldError(("body", field), message)])


def _check_settings(values: dict[str, Any]) -> None:
    if values.get("gate_fence"):
        problem = check_fence(values["gate_fence"])
        if problem is not None:
            raise _invalid("gate_fence", problem, "invalid_fence")
    if "opening_hours" in values:
        problem = check_opening_hours(values["opening_hours"])
        if problem is not None:
            raise _invalid("opening_hours", problem, "invalid_opening_hours")


async def put_settings(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: uuid.UUID,
    values: dict[str, Any],
    version: int | None = None,
) -> PlantYard:
    """Set a plant's yard settings (create them the first time); owners and admins only."""
    if principal.role not in MANAGERS:
        raise RoleRequired("only the owner or an admin sets up a plant's yard")
    site = await own_site(session, principal=principal, site_id=site_id)
    _check_settings(values)
    found = await repository.plant_yard(session, site.id)
    moment = now()
    if found is None:
        if "gate_code" not in values or "opening_hours" not in values:
            raise _invalid("gate_code", "a new yard needs a gate code and opening hours")
        found = PlantYard(
            site_id=site.id, organization_id=site.organization_id, updated_at=moment, **values
        )
        session.add(found)
        kind = "yard.plant_set_up"
    else:
        if version is not None:
            check_version(found.version, version)
        for key, value in values.items():
            setattr(found, key, value)
        found.updated_at = moment
        session.add(found)
        kind = "yard.plant_changed"
    await session.flush()
    await on_plant(
        session,
        site_id=site.id,
        operator_id=site.organization_id,
        kind=kind,
        payload={"site_id": str(site.id), "changed": sorted(values)},
        actor=principal.actor,
    )
    return found


def _check_dock(values: dict[str, Any]) -> None:
    rate = values.get("loading_rate_kg_per_min")
    fixed = values.get("fixed_duration_min")
    if (rate is None) == (fixed is None):
        raise _invalid("loading_rate_kg_per_min", "give a loading rate or a fixed duration")
    if not values.get("products") or not values.get("bodies"):
        raise _invalid("products", "a dock serves at least one product and one body")


async def add_dock(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, values: dict[str, Any]
) -> Dock:
    """Add a dock to a plant; owners and admins only."""
    if principal.role not in MANAGERS:
        raise RoleRequired("only the owner or an admin sets up docks")
    plant = await own_plant(session, principal=principal, site_id=site_id)
    _check_dock(values)
    if any(d.name == values["name"] for d in await repository.docks_of(session, plant.site.id)):
        raise _invalid("name", "the plant has a dock of that name", "dock_name_taken")
    made = Dock(
        site_id=plant.site.id,
        organization_id=plant.site.organization_id,
        updated_at=now(),
        **values,
    )
    session.add(made)
    await session.flush()
    await on_plant(
        session,
        site_id=plant.site.id,
        operator_id=plant.site.organization_id,
        kind="yard.dock_added",
        payload={"dock_id": str(made.id), "name": made.name},
        actor=principal.actor,
    )
    return made


async def list_docks(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID
) -> Sequence[Dock]:
    """A plant's docks."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    return await repository.docks_of(session, plant.site.id)


async def own_dock(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, dock_id: uuid.UUID
) -> tuple[Plant, Dock]:
    """A dock of one of the caller's plants."""
    plant = await own_plant(session, principal=principal, site_id=site_id)
    found = await repository.dock(session, dock_id)
    if found is None or found.site_id != plant.site.id:
        raise DockNotFound("no such dock at this plant")
    return plant, found


async def set_dock_blocked(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: uuid.UUID,
    dock_id: uuid.UUID,
    blocked: bool,
    reason: str | None = None,
) -> Dock:
    """Take a free dock out of service, or put a blocked one back."""
    require_operator(principal)
    plant, found = await own_dock(session, principal=principal, site_id=site_id, dock_id=dock_id)
    source, target = (
        (DockState.FREE, DockState.BLOCKED) if blocked else (DockState.BLOCKED, DockState.FREE)
    )
    moved = await repository.move_dock(
        session, found.id, from_states=(source,), values={"state": target, "updated_at": now()}
    )
    if moved is None:
        raise DockStateConflict(f"the dock is {found.state.value}, not {source.value}")
    await on_plant(
        session,
        site_id=plant.site.id,
        operator_id=plant.site.organization_id,
        kind="yard.dock_blocked" if blocked else "yard.dock_freed",
        payload={"dock_id": str(found.id), "name": found.name, "reason": reason},
        actor=principal.actor,
    )
    return moved
