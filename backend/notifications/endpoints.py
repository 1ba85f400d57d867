import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from backend.auth.dependencies import AnyUser
from backend.kit.deps import SessionDep
from backend.kit.pagination import PageParams, page_params
from backend.kit.time import utc_now
from backend.notifications import service
from backend.notifications.schemas import NotificationPage, NotificationRead

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", operation_id="notifications_list", response_model=NotificationPage)
async def list_notifications(
    session: SessionDep,
    principal: AnyUser,
    page: Annotated[PageParams, Depends(page_params)],
    unread: bool = False,
) -> NotificationPage:
    """The caller's own notifications, newest first; ``unread=true`` lists only unread ones."""
    items, cursor = await service.list_notifications(session, principal, page, unread_only=unread)
    return NotificationPage(
        items=[NotificationRead.model_validate(n) for n in items],
        next_cursor=cursor,
        unread_count=await service.unread_count(session, principal),
        server_time=utc_now(),
    )


@router.post(
    "/{notification_id}/read", operation_id="notifications_read", response_model=NotificationRead
)
async def mark_read(
    session: SessionDep, principal: AnyUser, notification_id: uuid.UUID
) -> NotificationRead:
    """Mark one of your notifications read (someone else's is 404)."""
    return NotificationRead.model_validate(
        await service.mark_read(session, principal, notification_id, utc_now())
    )
