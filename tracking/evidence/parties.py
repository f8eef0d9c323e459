"""Who speaks for which side of a delivery, and who may write evidence on it."""

from __future__ import annotations

from accounts.enums import Role
from accounts.exceptions import RoleRequired
from accounts.principal import Principal
from dispatch.deliveries.models import OutboundDelivery
from tracking.evidence.enums import PartyRole
from tracking.evidence.exceptions import TradingPartyOnly


def party_role(principal: Principal, delivery: OutboundDelivery) -> PartyRole | None:
    """The side the caller's organization is on (the buyer first when it plays two)."""
    org = principal.organization_id
    if org == delivery.buyer_id:
        return PartyRole.BUYER
    if org == delivery.seller_id:
        return PartyRole.SELLER
    if org == delivery.carrier_id:
        return PartyRole.CARRIER
    if org == delivery.plant_operator_id:
        return PartyRole.PLANT_OPERATOR
    return None


def require_writer(principal: Principal) -> None:
    """Viewers read evidence; every other role may add to it."""
    if principal.role == Role.VIEWER:
        raise RoleRequired("a viewer cannot add evidence")


def trading_party(principal: Principal, delivery: OutboundDelivery) -> PartyRole:
    """The caller's side among seller, buyer and carrier (TradingPartyOnly otherwise)."""
    role = party_role(principal, delivery)
    if role is None or role == PartyRole.PLANT_OPERATOR:
        raise TradingPartyOnly("only the seller, the buyer or the carrier takes part")
    return role
