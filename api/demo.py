"""The demo world: a sugar mill, a buyer, two carriers, their people and ready tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.enums import Department, OrgKind, PartnerRelation, Role, SiteKind
from accounts.schemas import MemberCreate, PartnershipCreate, SignupRequest, SiteCreate
from accounts.tokens import TokenCache
from core.database import Database

DEMO_PASSWORD = "haulpoint-demo"  # noqa: S105 - printed for the demo, never used elsewhere
DEMO_TOKEN_TTL_S = 7 * 24 * 3600
_NO_CACHE = TokenCache(ttl_s=0)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login and a token ready to paste."""

    organization: str
    role: str
    name: str
    login: str
    token: str


@dataclass(frozen=True)
class _Site:
    name: str
    kind: SiteKind
    lat: float
    lon: float
    address: str


@dataclass(frozen=True)
class _Org:
    name: str
    domain: str
    kinds: tuple[OrgKind, ...]
    owner: str
    members: tuple[tuple[str, Role, Department | None], ...]
    sites: tuple[_Site, ...] = ()


_WORLD = (
    _Org(
        "Sweet Sugar Mill",
        "sweetsugar.example",
        (OrgKind.SELLER, OrgKind.PLANT_OPERATOR),
        "Mei Chen",
        (
            ("Tom Baker", Role.DISPATCHER, Department.SALES),
            ("Gate Clerk Ana", Role.CLERK, Department.OPERATIONS),
            ("Finance Fay", Role.VIEWER, Department.FINANCE),
        ),
        (_Site("Uelzen sugar mill", SiteKind.PLANT, 52.9790, 10.5580, "Uelzen, Germany"),),
    ),
    _Org(
        "Acme Foods",
        "acmefoods.example",
        (OrgKind.BUYER,),
        "Raj Patel",
        (
            ("Purchasing Paula", Role.DISPATCHER, Department.PURCHASING),
            ("Finance Frank", Role.VIEWER, Department.FINANCE),
        ),
        (_Site("Hamburg bakery works", SiteKind.DELIVERY_SITE, 53.5460, 10.0820, "Hamburg"),),
    ),
    _Org(
        "Rapid Haulage",
        "rapidhaulage.example",
        (OrgKind.CARRIER,),
        "Omar Haddad",
        (
            ("Dispatcher Dana", Role.DISPATCHER, Department.TRANSPORT),
            ("Driver Li Wei", Role.DRIVER, Department.TRANSPORT),
            ("Driver Sam Okafor", Role.DRIVER, Department.TRANSPORT),
        ),
        (_Site("Lüneburg depot", SiteKind.DEPOT, 53.2510, 10.4140, "Lüneburg, Germany"),),
    ),
    _Org(
        "Longroad Logistics",
        "longroad.example",
        (OrgKind.CARRIER,),
        "Greta Nilsson",
        (
            ("Dispatcher Dirk", Role.DISPATCHER, Department.TRANSPORT),
            ("Driver Ivan Petrov", Role.DRIVER, Department.TRANSPORT),
        ),
        (_Site("Celle depot", SiteKind.DEPOT, 52.6230, 10.0800, "Celle, Germany"),),
    ),
)


def _login(name: str, domain: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{domain}"


async def seed(database: Database) -> list[DemoAccount]:
    """Create the demo world in an empty database and return a token for every account."""
    async with database.transaction() as session:
        return await _seed(session)


async def _seed(session: AsyncSession) -> list[DemoAccount]:
    made: list[DemoAccount] = []
    org_ids = {}
    for org in _WORLD:
        owner_login = _login(org.owner, org.domain)
        issued, organization, _owner, _ = await accounts.signup(
            session,
            data=SignupRequest(
                organization_name=org.name,
                kinds=list(org.kinds),
                owner_name=org.owner,
                email=owner_login,
                password=DEMO_PASSWORD,
            ),
            session_ttl_s=DEMO_TOKEN_TTL_S,
        )
        org_ids[org.name] = organization.id
        made.append(DemoAccount(org.name, "owner", org.owner, owner_login, issued.token))
        owner = await accounts.authenticate(session, token=issued.token, cache=_NO_CACHE)
        for name, role, department in org.members:
            login = _login(name, org.domain)
            member, _ = await accounts.create_member(
                session,
                principal=owner,
                data=MemberCreate(
                    name=name,
                    email=login,
                    password=DEMO_PASSWORD,
                    role=role,
                    department=department,
                ),
            )
            token = await accounts.issue_session(
                session, organization=organization, member=member, ttl_s=DEMO_TOKEN_TTL_S
            )
            made.append(DemoAccount(org.name, role.value, name, login, token.token))
        for site in org.sites:
            await accounts.create_site(
                session,
                principal=owner,
                data=SiteCreate(
                    name=site.name,
                    kind=site.kind,
                    lat=site.lat,
                    lon=site.lon,
                    address=site.address,
                    timezone="Europe/Berlin",
                ),
            )
        if org.name == "Sweet Sugar Mill":
            seller_owner = owner
    await accounts.create_partnership(
        session,
        principal=seller_owner,
        data=PartnershipCreate(partner_id=org_ids["Acme Foods"], relation=PartnerRelation.CUSTOMER),
    )
    for carrier in ("Rapid Haulage", "Longroad Logistics"):
        await accounts.create_partnership(
            session,
            principal=seller_owner,
            data=PartnershipCreate(partner_id=org_ids[carrier], relation=PartnerRelation.CARRIER),
        )
    return made
