"""Visits with next actions, made through the real check-in API and the actions service."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.actions import service
from backend.actions.schemas import NextActionInput
from backend.config import Settings
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import NextAction, NextActionType, Visit, VisitStatus
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from tests.factories.visits import Field
from tests.factories.world import Actor, Org, World, principal


@dataclass
class Desk:
    """Visits with next actions, made through the real check-in API and the actions service."""

    field: Field
    world: World
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings

    @property
    def org(self) -> Org:
        return self.field.org

    @property
    def client(self) -> httpx.AsyncClient:
        return self.field.client

    async def visit(self, actor: Actor | None = None) -> service.VisitRef:
        actor = actor or self.org.rep
        store = await self.field.store()
        response = await self.field.check_in(self.field.check_in_body(store), actor)
        assert response.status_code == 201, response.text
        body = response.json()
        return service.VisitRef(
            id=uuid.UUID(body["id"]),
            org_id=uuid.UUID(body["org_id"]),
            rep_id=uuid.UUID(body["rep"]["id"]),
            store_id=uuid.UUID(body["store"]["id"]),
            checked_in_at=datetime.fromisoformat(body["checked_in_at"]),
        )

    async def set(
        self,
        visit: service.VisitRef,
        due_at: datetime,
        *,
        action_id: uuid.UUID | None = None,
        type: NextActionType = NextActionType.send_sample,
        note: str = "带 3 盒样品",
    ) -> tuple[NextAction, bool]:
        data = NextActionInput(id=action_id or uuid.uuid4(), type=type, due_at=due_at, note=note)
        async with session_scope(self.sessionmaker) as session:
            return await service.set_for_visit(
                session, self.settings, visit.rep_id, visit, data, utc_now()
            )

    async def action(
        self, actor: Actor | None = None, due_in: timedelta = timedelta(days=2)
    ) -> NextAction:
        """A fresh visit by ``actor`` (default: the rep) with an action due ``due_in`` from now."""
        visit = await self.visit(actor)
        action, created = await self.set(visit, utc_now() + due_in)
        assert created
        await self._submitted(visit)
        return action

    async def _submitted(self, visit: service.VisitRef) -> None:
        await self.mark_submitted(visit.id)

    async def mark_submitted(self, visit_id: uuid.UUID) -> None:
        # A rep has one open visit at a time; the submit flow is the visits module's business,
        # so the visit is marked submitted directly to let the same rep start another one.
        async with session_scope(self.sessionmaker) as session:
            await session.execute(
                update(Visit)
                .where(Visit.id == visit_id)
                .values(status=VisitStatus.submitted, submitted_at=utc_now())
            )

    async def leads_team(self, supervisor: Actor, *reps: Actor) -> None:
        async with session_scope(self.sessionmaker) as session:
            admin = principal(self.org.admin)
            await team_service.create_team(
                session,
                admin,
                TeamCreate(
                    name=f"team-{uuid.uuid4().hex[:6]}",
                    supervisor_id=supervisor.id,
                    member_ids=[r.id for r in reps],
                ),
            )

    async def get(self, path: str, actor: Actor, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=actor.headers)

    async def post(self, path: str, actor: Actor, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=actor.headers)
