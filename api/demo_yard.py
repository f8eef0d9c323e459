"""The demo's yard: the Uelzen sugar mill's gate fence, hours and booking rules, its six
docks, and appointments for every demo delivery that holds a pickup pass."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from yard import appointments, plants
from yard.exceptions import BookingRuleBroken

BULK_SUGAR = "white sugar EU2, bulk"
# The sugar campaign runs every day of the week; the gate is open 06:00-22:00 local time.
CAMPAIGN_HOURS: list[list[int] | None] = [[6 * 60, 22 * 60]] * 7
GATE_FENCE = {
    "type": "Polygon",
    "coordinates": [
        [
            [10.5545, 52.9772],
            [10.5615, 52.9772],
            [10.5615, 52.9806],
            [10.5545, 52.9806],
            [10.5545, 52.9772],
        ]
    ],
}
DOCKS: dict[str, dict[str, Any]] = {
    "Silo 1 (bulk sugar)": {
        "products": [BULK_SUGAR],
        "bodies": ["silo"],
        "loading_rate_kg_per_min": 800,
        "handling_min": 10,
    },
    "Silo 2 (bulk sugar)": {
        "products": [BULK_SUGAR],
        "bodies": ["silo"],
        "loading_rate_kg_per_min": 800,
        "handling_min": 10,
    },
    "Silo 3 (bulk sugar, tippers)": {
        "products": [BULK_SUGAR],
        "bodies": ["silo", "tipper"],
        "loading_rate_kg_per_min": 600,
        "handling_min": 15,
    },
    "Bagged goods bay": {
        "products": ["white sugar EU2, 25 kg bags", "white sugar EU2, big bags"],
        "bodies": ["curtainsider", "box", "flatbed"],
        "fixed_duration_min": 45,
    },
    "Molasses tanker bay": {
        "products": ["molasses"],
        "bodies": ["tanker"],
        "loading_rate_kg_per_min": 1500,
        "handling_min": 15,
        "changeover_min": 30,
    },
    "Ethanol bay (ADR)": {
        "products": ["ethanol 96 %, from molasses"],
        "bodies": ["tanker"],
        "hazardous": True,
        "loading_rate_kg_per_min": 1200,
        "handling_min": 20,
        "changeover_min": 60,
    },
}


async def seed_yard(session: AsyncSession, *, owner: Principal, site_id: uuid.UUID) -> int:
    """Set up the mill's yard and schedule its deliveries; returns the appointments made."""
    await plants.put_settings(
        session,
        principal=owner,
        site_id=site_id,
        values={
            "gate_fence": GATE_FENCE,
            "opening_hours": CAMPAIGN_HOURS,
            "gate_code": "UELZEN-GATE-1",
            "slot_min": 15,
            "late_tolerance_min": 15,
            "call_respond_min": 10,
            "booking_lead_min": 60,
            "freeze_min": 120,
            "carrier_daily_limit": 20,
            "gate_instructions": (
                "Wait in truck park P2 on Hambrocker Strasse; drive to the gate only when "
                "called. Show the pickup pass at the gatehouse; weighbridge lane 1."
            ),
        },
    )
    for name, fields in DOCKS.items():
        await plants.add_dock(
            session, principal=owner, site_id=site_id, values={"name": name, **fields}
        )
    made = 0
    for day in await appointments.days_to_schedule(session, principal=owner, site_id=site_id):
        try:
            plan = await appointments.schedule_day(
                session, principal=owner, site_id=site_id, day=day, time_limit_s=1.0
            )
        except BookingRuleBroken:
            continue
        made += len(plan.appointments)
    return made
