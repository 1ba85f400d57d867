"""Audits in tests without the audit tour's API: a submitted ``Audit`` row pinned to the org's
``standard`` checklist, item (before) photos through the photos service, and the failed items
raised as rectifications through the rectifications service (what the audits service does at
submit).

The functions take a session (the caller's transaction) so the access matrix, the lead's tests
and the rectification tests can all build on them; ``Tour`` bundles them for API tests.
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.fonts import cjk_font_path
from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.models import (
    Audit,
    AuditBand,
    AuditChecklist,
    AuditStatus,
    AuditTemplate,
    Photo,
    Rectification,
)
from backend.models.user import Role
from backend.photos import service as photo_service
from backend.rectifications import service as rectification_service
from backend.rectifications.service import RaisedItem
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from tests.factories.images import encode, synthetic_photo
from tests.factories.stores import STORE_LAT, STORE_LNG
from tests.factories.visits import Field
from tests.factories.world import PASSWORD, Actor, Org, World, principal

STANDARD = "standard"

# Used only when the org was made before org creation seeded ``standard``.
_FALLBACK_ITEMS: list[dict[str, Any]] = [
    {
        "key": key,
        "section": {"zh": "陈列", "en": "Display"},
        "label": label,
        "kind": "check",
        "critical": critical,
        "photo": "on_fail",
    }
    for key, label, critical in (
        ("price_tags", {"zh": "价签清晰准确", "en": "Price tags clear and correct"}, False),
        ("shelf_full", {"zh": "货架饱满无断货", "en": "Shelves full, nothing out of stock"}, True),
        ("store_clean", {"zh": "店内整洁，通道无杂物", "en": "Store clean, aisles clear"}, False),
    )
]


async def standard_checklist(session: AsyncSession, org_id: uuid.UUID) -> AuditChecklist:
    """The newest version of the org's ``standard`` checklist, made (template and version 1)
    if the org has none."""
    found = await session.scalar(
        select(AuditChecklist)
        .where(AuditChecklist.org_id == org_id, AuditChecklist.template_key == STANDARD)
        .order_by(AuditChecklist.version.desc())
        .limit(1)
    )
    if found is not None:
        return found
    template = await session.scalar(
        select(AuditTemplate).where(AuditTemplate.org_id == org_id, AuditTemplate.key == STANDARD)
    )
    if template is None:
        session.add(
            AuditTemplate(
                org_id=org_id, key=STANDARD, name="门店标准巡检", name_en="Standard store audit"
            )
        )
        await session.flush()
    checklist = AuditChecklist(
        org_id=org_id, template_key=STANDARD, version=1, items=list(_FALLBACK_ITEMS)
    )
    session.add(checklist)
    await session.flush()
    return checklist


def item_of(checklist: AuditChecklist, item_key: str | None = None) -> dict[str, Any]:
    """One item of the checklist (the first when no key is given)."""
    if item_key is None:
        return checklist.items[0]
    return next(i for i in checklist.items if i["key"] == item_key)


async def insert_audit(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    store_id: uuid.UUID,
    auditor_id: uuid.UUID,
    failed: Sequence[str] = (),
    status: AuditStatus = AuditStatus.submitted,
    started_at: datetime | None = None,
    audit_id: uuid.UUID | None = None,
) -> Audit:
    """An audit row at the store's door, pinned to the newest ``standard`` version, with the
    ``failed`` item keys failed and every other item passed (submitted unless ``status``)."""
    checklist = await standard_checklist(session, org_id)
    started = started_at or utc_now() - timedelta(minutes=30)
    results = {
        item["key"]: {"result": "fail" if item["key"] in failed else "pass", "note": None}
        for item in checklist.items
    }
    submitted = status == AuditStatus.submitted
    audit = Audit(
        id=audit_id or uuid.uuid4(),
        org_id=org_id,
        store_id=store_id,
        auditor_id=auditor_id,
        status=status,
        template_key=STANDARD,
        template_version=checklist.version,
        started_at=started,
        check_in_lat=STORE_LAT,
        check_in_lng=STORE_LNG,
        check_in_accuracy_m=15.0,
        check_in_distance_m=3.0,
        captured_at=started,
        device_time=started,
        server_received_at=started,
        clock_offset_s=0.0,
        queued_offline=False,
        check_in_fingerprint=hashlib.sha256(str(uuid.uuid4()).encode()).digest(),
        trust_score=100,
        flags=[],
        results=results,
        results_updated_at=started,
        submitted_at=started + timedelta(minutes=20) if submitted else None,
        score_earned=float(len(results) - len(failed)) if submitted else None,
        score_possible=float(len(results)) if submitted else None,
        score_percent=(
            round(100 * (len(results) - len(failed)) / len(results), 1) if submitted else None
        ),
        band=AuditBand.red if failed and submitted else (AuditBand.green if submitted else None),
        passed=(not failed) if submitted else None,
        failed_critical=[],
    )
    session.add(audit)
    await session.flush()
    return audit


async def add_item_photo(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    audit: Audit,
    item_key: str,
    data: bytes,
    now: datetime | None = None,
) -> Photo:
    """The audit item's photo (a rectification's before photo), through the photo rules."""
    accepted = await photo_service.accept_upload(
        session,
        storage,
        org_id=audit.org_id,
        owner=photo_service.PhotoOwner.audit_item(audit.id, item_key),
        data=data,
        watermark_lines=["巡店", "auditor"],
        font_path=cjk_font_path(settings),
        now=now or utc_now(),
        flags_for=_no_flags,
    )
    return accepted.photo


async def _no_flags(duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
    return []


def raised_item(
    checklist: AuditChecklist,
    item_key: str,
    assignee_id: uuid.UUID,
    due_at: datetime,
    note: str = "请尽快整改",
) -> RaisedItem:
    item = item_of(checklist, item_key)
    return RaisedItem(
        item_key=item_key,
        title=dict(item["label"]),
        critical=bool(item.get("critical", False)),
        assignee_id=assignee_id,
        due_at=due_at,
        note=note,
    )


def photo_bytes(seed: int) -> bytes:
    """A distinct, photo-like JPEG for each seed."""
    return encode(synthetic_photo(seed, (800, 600)), "JPEG", quality=85)


@dataclass
class Raised:
    audit: Audit
    rectifications: list[Rectification]
    before_photos: dict[str, Photo] = field(default_factory=dict)

    @property
    def first(self) -> Rectification:
        return self.rectifications[0]


@dataclass
class Tour:
    """An org with two teams and their stores, audits raised on them, and the API to act on
    the rectifications (as the rep, the supervisors, the admin).

    Team A: ``org.supervisor`` leads ``org.rep``; team B: ``other_supervisor`` leads
    ``org.other_rep``. ``store`` is team A's, ``other_store`` team B's."""

    field: Field
    world: World
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    storage: Storage
    other_supervisor: Actor
    store: dict[str, Any]
    other_store: dict[str, Any]

    @property
    def org(self) -> Org:
        return self.field.org

    @property
    def client(self) -> httpx.AsyncClient:
        return self.field.client

    @classmethod
    async def build(
        cls,
        field_: Field,
        world: World,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        storage: Storage,
    ) -> "Tour":
        org = field_.org
        username = f"{org.admin.username.removesuffix('-admin')}-sup2"
        async with session_scope(sessionmaker) as session:
            sup2 = await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username=username,
                    display_name="sup2",
                    role=Role.supervisor,
                    password=PASSWORD,
                ),
                org.admin.id,
            )
            admin = principal(org.admin)
            team_a = await team_service.create_team(
                session,
                admin,
                TeamCreate(name="A 组", supervisor_id=org.supervisor.id, member_ids=[org.rep.id]),
            )
            team_b = await team_service.create_team(
                session,
                admin,
                TeamCreate(name="B 组", supervisor_id=sup2.id, member_ids=[org.other_rep.id]),
            )
        other_supervisor = await world.actor(sup2.id, org.id, username, Role.supervisor)
        store = await field_.store(name="华联超市（文三路店）", team_id=str(team_a.id))
        other_store = await field_.store(
            name="世纪联华（古墩路店）", team_id=str(team_b.id), lat=STORE_LAT + 0.05
        )
        return cls(
            field_, world, sessionmaker, settings, storage, other_supervisor, store, other_store
        )

    async def raise_at(
        self,
        store: dict[str, Any] | None = None,
        *,
        auditor: Actor | None = None,
        assignee: Actor | None = None,
        items: Sequence[str] | None = None,
        due_in: timedelta = timedelta(days=3),
        with_photos: bool = True,
        photo_seed: int = 100,
    ) -> Raised:
        """A submitted audit at ``store`` (default: team A's) by ``auditor`` (default: the
        team A supervisor) whose ``items`` failed (default: the checklist's first item), each
        raised for ``assignee`` (default: the rep) due ``due_in`` from now, with a before
        photo each unless ``with_photos`` is False."""
        store = store or self.store
        auditor = auditor or self.org.supervisor
        assignee = assignee or self.org.rep
        now = utc_now()
        async with session_scope(self.sessionmaker) as session:
            checklist = await standard_checklist(session, self.org.id)
            keys = list(items) if items is not None else [item_of(checklist)["key"]]
            audit = await insert_audit(
                session,
                org_id=self.org.id,
                store_id=uuid.UUID(store["id"]),
                auditor_id=auditor.id,
                failed=keys,
            )
            photos: dict[str, Photo] = {}
            if with_photos:
                for i, key in enumerate(keys):
                    photos[key] = await add_item_photo(
                        session,
                        self.storage,
                        self.settings,
                        audit,
                        key,
                        photo_bytes(photo_seed + i),
                        now,
                    )
            rects = await rectification_service.raise_for_audit(
                session,
                audit,
                [raised_item(checklist, key, assignee.id, now + due_in) for key in keys],
                now,
            )
        return Raised(audit, rects, photos)

    async def check_in(self, store: dict[str, Any], actor: Actor | None = None) -> dict[str, Any]:
        """``actor`` (default: the rep) checks in at ``store``: the open visit."""
        response = await self.field.check_in(self.field.check_in_body(store), actor)
        assert response.status_code == 201, response.text
        visit: dict[str, Any] = response.json()
        return visit

    async def get(self, path: str, actor: Actor, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=actor.headers)

    async def post(self, path: str, actor: Actor, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=actor.headers)

    async def put_after_photo(
        self, rect_id: uuid.UUID, data: bytes, actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.rep
        return await self.client.put(
            f"/api/v1/rectifications/{rect_id}/after-photo",
            files={"file": ("after.jpg", data, "image/jpeg")},
            headers=actor.headers,
        )
