"""The demo organization: one city (Hangzhou), one team, a supervisor, four reps, ~60 stores.

Everything is created through the domain services (so events, QR keys and defaults are exactly
what a real organization gets) and is deterministic: the same seed gives the same stores.
``seed_demo_history`` is where a week of visits will be generated once visits exist.
"""

import random
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.models import Organization
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate

DEMO_ORG_NAME = "Doorstep 演示公司"
DEMO_PASSWORD = "doorstep-demo"  # noqa: S105 - a published demo login, not a secret
DEMO_TEAM_NAME = "杭州一组"
DEMO_SEED = 20240601

ADMIN = ("admin", "陈管理")
SUPERVISOR = ("supervisor", "王主管")
REPS = (("rep1", "李明"), ("rep2", "张伟"), ("rep3", "刘芳"), ("rep4", "赵磊"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class DemoLogins:
    org_id: uuid.UUID
    org_name: str
    password: str
    logins: list[DemoLogin] = field(default_factory=list)
    team_id: uuid.UUID | None = None
    store_ids: list[uuid.UUID] = field(default_factory=list)

    def lines(self) -> list[str]:
        width = max(len(login.username) for login in self.logins)
        return [
            f"{login.username.ljust(width)}  {login.role.value:<10}  {login.display_name}"
            for login in self.logins
        ]


def demo_logins_template() -> list[DemoLogin]:
    """The demo logins (usable before the database is touched, e.g. to print them)."""
    return [
        DemoLogin(ADMIN[0], ADMIN[1], Role.admin),
        DemoLogin(SUPERVISOR[0], SUPERVISOR[1], Role.supervisor),
        *(DemoLogin(username, name, Role.rep) for username, name in REPS),
    ]


async def find_demo_org(session: AsyncSession) -> Organization | None:
    org: Organization | None = await session.scalar(
        select(Organization).where(Organization.name == DEMO_ORG_NAME).limit(1)
    )
    return org


async def seed_demo(session: AsyncSession, settings: Settings) -> DemoLogins:
    """Create the demo organization with its people, team and stores (only ``flush()``es)."""
    org, admin = await org_service.create_org(session, DEMO_ORG_NAME, ADMIN[0], DEMO_PASSWORD)
    admin.display_name = ADMIN[1]
    principal = Principal(user_id=admin.id, org_id=org.id, role=Role.admin)

    supervisor = await user_service.create_user(
        session,
        org.id,
        UserCreate(
            username=SUPERVISOR[0],
            display_name=SUPERVISOR[1],
            role=Role.supervisor,
            password=DEMO_PASSWORD,
        ),
        admin.id,
    )
    reps = [
        await user_service.create_user(
            session,
            org.id,
            UserCreate(username=username, display_name=name, role=Role.rep, password=DEMO_PASSWORD),
            admin.id,
        )
        for username, name in REPS
    ]
    team = await team_service.create_team(
        session,
        principal,
        TeamCreate(
            name=DEMO_TEAM_NAME, supervisor_id=supervisor.id, member_ids=[r.id for r in reps]
        ),
    )

    store_ids: list[uuid.UUID] = []
    for spec in demo_stores(team.id):
        store = await store_service.create_store(session, settings, org.id, spec, admin.id)
        store_ids.append(store.id)

    logins = DemoLogins(
        org_id=org.id,
        org_name=org.name,
        password=DEMO_PASSWORD,
        logins=demo_logins_template(),
        team_id=team.id,
        store_ids=store_ids,
    )
    await seed_demo_history(session, settings, logins)
    return logins


async def seed_demo_history(session: AsyncSession, settings: Settings, demo: DemoLogins) -> None:
    """A week of visits, photos, next actions and reviews for the demo reps.

    Intentionally empty until the visits issue lands: generate the history here through the
    visits service (check-ins at the stores in ``demo.store_ids`` by ``rep1``..``rep4`` over
    the past 7 days, deterministic with ``random.Random(DEMO_SEED)``).
    """
    return None


# --- deterministic store data ------------------------------------------------------------------

# (district, centre lat, centre lng, streets) — real Hangzhou districts and streets.
_DISTRICTS: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("西湖区", 30.2780, 120.1300, ("文三路", "文二路", "教工路", "学院路", "天目山路", "古墩路")),
    ("上城区", 30.2520, 120.1720, ("解放路", "延安路", "中山中路", "庆春路", "清泰街", "江城路")),
    ("拱墅区", 30.3150, 120.1480, ("莫干山路", "湖墅南路", "大关路", "上塘路", "丽水路")),
    ("滨江区", 30.2080, 120.2100, ("江南大道", "滨盛路", "长河路", "江虹路", "西兴路")),
)

_PHARMACY_BRANDS = (
    "老百姓大药房",
    "益丰大药房",
    "海王星辰",
    "九洲大药房",
    "华东大药房",
    "张同泰",
    "方回春堂",
    "胡庆余堂",
)
_SUPERMARKET_BRANDS = (
    "联华超市",
    "世纪联华",
    "物美超市",
    "华润万家",
    "永辉超市",
    "盒马鲜生",
    "农工商超市",
)
_CLINIC_PATTERNS = (
    "{street}社区卫生服务站",
    "{surname}氏口腔诊所",
    "{surname}氏中医诊所",
    "{street}仁和门诊部",
    "康桥综合诊所（{street}）",
    "惠民诊所（{street}）",
    "{surname}医生儿科诊所",
)
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "朱")

# (customer type key, code prefix, how many, geofence radius or None for the default)
_MIX: tuple[tuple[str, str, int, int | None], ...] = (
    ("pharmacy", "P", 24, None),
    ("clinic", "C", 16, 100),
    ("supermarket", "S", 20, 250),
)


def demo_stores(team_id: uuid.UUID | None, seed: int = DEMO_SEED) -> list[StoreCreate]:
    """~60 stores around Hangzhou, the same on every run for the same seed."""
    rng = random.Random(seed)
    names: set[str] = set()
    stores: list[StoreCreate] = []
    for customer_type, prefix, count, radius in _MIX:
        for n in range(1, count + 1):
            district, lat0, lng0, streets = rng.choice(_DISTRICTS)
            street = rng.choice(streets)
            name = _store_name(rng, customer_type, street)
            while name in names:
                street = rng.choice(streets)
                name = _store_name(rng, customer_type, street)
            names.add(name)
            number = rng.randint(1, 399)
            stores.append(
                StoreCreate(
                    code=f"HZ-{prefix}-{n:03d}",
                    name=name,
                    address=f"浙江省杭州市{district}{street} {number} 号",
                    lat=round(lat0 + rng.uniform(-0.018, 0.018), 6),
                    lng=round(lng0 + rng.uniform(-0.022, 0.022), 6),
                    geofence_radius_m=radius,
                    customer_type=customer_type,
                    team_id=team_id,
                )
            )
    return stores


def _store_name(rng: random.Random, customer_type: str, street: str) -> str:
    if customer_type == "pharmacy":
        return f"{rng.choice(_PHARMACY_BRANDS)}（{street}店）"
    if customer_type == "supermarket":
        return f"{rng.choice(_SUPERMARKET_BRANDS)}（{street}店）"
    pattern = rng.choice(_CLINIC_PATTERNS)
    return pattern.format(street=street, surname=rng.choice(_SURNAMES))
