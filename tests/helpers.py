"""Helpers that set up organizations and accounts through the API, as a client would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"


@dataclass
class Org:
    """A signed-up organization and its owner's token."""

    id: uuid.UUID
    token: str
    owner_member_id: uuid.UUID
    email: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers for the owner."""
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a token."""
    return {"Authorization": f"Bearer {token}"}


async def signup(client: httpx.AsyncClient, name: str, kinds: list[str]) -> Org:
    """Sign up an organization with an owner account."""
    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/v1/auth/signup",
        json={
            "organization_name": name,
            "kinds": kinds,
            "owner_name": f"{name} owner",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Org(
        id=uuid.UUID(body["organization"]["id"]),
        token=body["access_token"],
        owner_member_id=uuid.UUID(body["member"]["id"]),
        email=email,
    )


async def add_member(
    client: httpx.AsyncClient, org: Org, role: str, **extra: Any
) -> tuple[str, str]:
    """Create a child account and log it in; returns (member id, token)."""
    email = extra.pop("email", f"{role}-{uuid.uuid4().hex[:10]}@example.com")
    response = await client.post(
        "/v1/members",
        headers=org.headers,
        json={
            "name": f"{role} {email[:6]}",
            "email": email,
            "password": PASSWORD,
            "role": role,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], await login(client, email)


async def login(client: httpx.AsyncClient, email: str) -> str:
    """Log an account in; returns its token."""
    response = await client.post("/v1/auth/login", json={"login": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class Device:
    """A registered device, its secrets and the carrier that owns it."""

    id: uuid.UUID
    number: int
    token: str
    tracker_id: str
    owntracks_user: str
    setup: list[dict[str, Any]]

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers for the device's token."""
        return bearer(self.token)


async def register_device(
    client: httpx.AsyncClient, org: Org, *, name: str = "Truck phone", **binding: Any
) -> Device:
    """Register a device for a vehicle (a fresh vehicle id unless a binding is given)."""
    body = {"name": name, **(binding or {"vehicle_id": str(uuid.uuid4())})}
    response = await client.post("/v1/devices", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Device(
        id=uuid.UUID(data["device"]["id"]),
        number=data["device"]["number"],
        token=data["credentials"]["token"],
        tracker_id=data["credentials"]["tracker_id"],
        owntracks_user=data["credentials"]["owntracks_user"],
        setup=data["setup"],
    )
