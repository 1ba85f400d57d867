import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.deps import SessionDep
from backend.kit.time import utc_now
from backend.timeline import service
from backend.timeline.schemas import StoreTimeline, TimelineAudit
from backend.visits.presenters import visit_read

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])


@router.get(
    "/{store_id}/timeline",
    operation_id="stores_timeline",
    summary="A store's recent visits, photos, flags, audits and open rectifications",
    response_model=StoreTimeline,
)
async def store_timeline(
    session: SessionDep,
    settings: SettingsDep,
    principal: AnyUser,
    store_id: uuid.UUID,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> StoreTimeline:
    now = utc_now()
    timeline = await service.store_timeline(session, settings, principal, store_id, days, now)
    return StoreTimeline(
        store=timeline.store,
        since=timeline.since,
        visits=[visit_read(v, now) for v in timeline.visits],
        audits=[TimelineAudit.model_validate(a) for a in timeline.audits],
        rectifications=timeline.rectifications,
        server_time=now,
    )
