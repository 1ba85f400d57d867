"""The audits domain's SQL: templates, checklist versions and audits, every statement scoped by
org (and for lists by role, with the shared keyset paginator)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.models import Audit, AuditChecklist, AuditStatus, AuditTemplate, Store
from backend.models.user import Role
from backend.teams import service as team_service

# --- templates and checklists ------------------------------------------------------------------


async def templates(session: AsyncSession, org_id: uuid.UUID) -> Sequence[AuditTemplate]:
    return (
        await session.scalars(
            select(AuditTemplate)
            .where(AuditTemplate.org_id == org_id)
            .order_by(AuditTemplate.created_at, AuditTemplate.key)
        )
    ).all()


async def template(
    session: AsyncSession, org_id: uuid.UUID, key: str, *, lock: bool = False
) -> AuditTemplate | None:
    stmt = select(AuditTemplate).where(AuditTemplate.org_id == org_id, AuditTemplate.key == key)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def latest_checklist(
    session: AsyncSession, org_id: uuid.UUID, template_key: str
) -> AuditChecklist | None:
    return await session.scalar(
        select(AuditChecklist)
        .where(AuditChecklist.org_id == org_id, AuditChecklist.template_key == template_key)
        .order_by(AuditChecklist.version.desc())
        .limit(1)
    )


async def latest_checklists(session: AsyncSession, org_id: uuid.UUID) -> Sequence[AuditChecklist]:
    """Each template's latest checklist version (one query)."""
    latest = (
        select(AuditChecklist.template_key, func.max(AuditChecklist.version).label("version"))
        .where(AuditChecklist.org_id == org_id)
        .group_by(AuditChecklist.template_key)
        .subquery()
    )
    return (
        await session.scalars(
            select(AuditChecklist).join(
                latest,
                and_(
                    AuditChecklist.org_id == org_id,
                    AuditChecklist.template_key == latest.c.template_key,
                    AuditChecklist.version == latest.c.version,
                ),
            )
        )
    ).all()


async def checklist_version(
    session: AsyncSession, org_id: uuid.UUID, template_key: str, version: int
) -> AuditChecklist | None:
    return await session.scalar(
        select(AuditChecklist).where(
            AuditChecklist.org_id == org_id,
            AuditChecklist.template_key == template_key,
            AuditChecklist.version == version,
        )
    )


# --- audits ------------------------------------------------------------------------------------


async def by_id(session: AsyncSession, audit_id: uuid.UUID) -> Audit | None:
    """The audit with this id in any organization (an id is global: reusing one is a conflict,
    whoever used it)."""
    return await session.get(Audit, audit_id)


async def open_of_auditor(
    session: AsyncSession, org_id: uuid.UUID, auditor_id: uuid.UUID
) -> Audit | None:
    return await session.scalar(
        select(Audit).where(
            Audit.org_id == org_id,
            Audit.auditor_id == auditor_id,
            Audit.status == AuditStatus.open,
        )
    )


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the audit unless its id or the auditor's one open audit already exists (a
    concurrent replay or start); True if this statement inserted it."""
    inserted = await session.scalar(
        insert(Audit).values(**values).on_conflict_do_nothing().returning(Audit.id)
    )
    return inserted is not None


async def previous_start(
    session: AsyncSession, org_id: uuid.UUID, auditor_id: uuid.UUID, before: datetime
) -> tuple[float, float, datetime] | None:
    """Where and when the auditor last started an audit before ``before`` (impossible travel)."""
    row = (
        await session.execute(
            select(Audit.check_in_lat, Audit.check_in_lng, Audit.started_at)
            .where(
                Audit.org_id == org_id,
                Audit.auditor_id == auditor_id,
                Audit.started_at <= before,
            )
            .order_by(Audit.started_at.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def audited_between(
    session: AsyncSession,
    org_id: uuid.UUID,
    auditor_id: uuid.UUID,
    store_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> bool:
    found = await session.scalar(
        select(Audit.id)
        .where(
            Audit.org_id == org_id,
            Audit.auditor_id == auditor_id,
            Audit.store_id == store_id,
            Audit.started_at >= start,
            Audit.started_at < end,
        )
        .limit(1)
    )
    return found is not None


def visible(principal: Principal) -> Select[Audit]:
    """Audits the caller may read: an admin the org's; a supervisor those of stores in the teams
    they lead and their own; a rep none (the routes refuse reps first)."""
    stmt = select(Audit).where(Audit.org_id == principal.org_id)
    if principal.role == Role.admin:
        return stmt
    if principal.role == Role.supervisor:
        led_stores = select(Store.id).where(
            Store.org_id == principal.org_id,
            Store.team_id.in_(team_service.led_team_ids(principal.org_id, principal.user_id)),
        )
        return stmt.where(
            or_(Audit.auditor_id == principal.user_id, Audit.store_id.in_(led_stores))
        )
    return stmt.where(Audit.auditor_id == principal.user_id)


async def visible_by_id(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID, *, lock: bool = False
) -> Audit | None:
    stmt = visible(principal).where(Audit.id == audit_id)
    if lock:
        stmt = stmt.with_for_update(of=Audit)
    return await session.scalar(stmt)


_NEWEST_FIRST = Keyset(Audit.started_at, Audit.id, descending=True)


async def visible_page(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    store_id: uuid.UUID | None,
    auditor_id: uuid.UUID | None,
    from_: datetime | None,
    to: datetime | None,
) -> tuple[Sequence[Audit], str | None]:
    conditions = []
    if store_id is not None:
        conditions.append(Audit.store_id == store_id)
    if auditor_id is not None:
        conditions.append(Audit.auditor_id == auditor_id)
    if from_ is not None:
        conditions.append(Audit.started_at >= from_)
    if to is not None:
        conditions.append(Audit.started_at < to)
    stmt = visible(principal).where(and_(True, *conditions))
    return await keyset_page(session, stmt, _NEWEST_FIRST, page)


async def previous_submitted(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, before: datetime
) -> Audit | None:
    """The store's last submitted audit started before ``before`` (the trend's previous point)."""
    return await session.scalar(
        select(Audit)
        .where(
            Audit.org_id == org_id,
            Audit.store_id == store_id,
            Audit.status == AuditStatus.submitted,
            Audit.started_at < before,
        )
        .order_by(Audit.started_at.desc(), Audit.id.desc())
        .limit(1)
    )


async def at_store_since(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, since: datetime
) -> Sequence[Audit]:
    """The store's audits started since ``since``, newest first (its timeline)."""
    return (
        await session.scalars(
            select(Audit)
            .where(
                Audit.org_id == org_id,
                Audit.store_id == store_id,
                Audit.started_at >= since,
            )
            .order_by(Audit.started_at.desc(), Audit.id.desc())
        )
    ).all()


async def count_of_org(session: AsyncSession, org_id: uuid.UUID) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Audit).where(Audit.org_id == org_id))
        or 0
    )
