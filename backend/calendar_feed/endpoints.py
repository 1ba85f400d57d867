from typing import Any

from fastapi import APIRouter, Response

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.calendar_feed import service
from backend.calendar_feed.schemas import CalendarFeedRead
from backend.kit.deps import SessionDep
from backend.kit.time import utc_now

router = APIRouter(prefix="/api/v1/calendar-feed", tags=["calendar feed"])
# The feed itself: no credential but the secret in its path (calendar apps send none).
feeds = APIRouter(tags=["calendar feed"])

# The answer carries a secret URL: never kept by a shared cache.
_PRIVATE = {"Cache-Control": "no-store"}
_FEED_HEADERS = {
    "Cache-Control": "private, no-cache",
    "Content-Disposition": 'inline; filename="doorstep.ics"',
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}
_SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (`unauthorized`)."}
}


@router.get(
    "",
    operation_id="calendar_feed_get",
    summary="Your calendar subscription URL",
    response_model=CalendarFeedRead,
    responses=_SIGNED_IN,
)
async def get_calendar_feed(
    session: SessionDep, settings: SettingsDep, principal: AnyUser, response: Response
) -> CalendarFeedRead:
    """Your calendar subscription URL (made on the first call, the same after): your open next
    actions and rectifications (a supervisor's: their teams'). Anyone with the URL can read the
    calendar; rotate it if it leaks."""
    response.headers.update(_PRIVATE)
    return CalendarFeedRead(url=await service.feed_url(session, settings, principal, utc_now()))


@router.post(
    "/rotate",
    operation_id="calendar_feed_rotate",
    summary="A new calendar subscription URL (the old one dies)",
    response_model=CalendarFeedRead,
    responses=_SIGNED_IN,
)
async def rotate_calendar_feed(
    session: SessionDep, settings: SettingsDep, principal: AnyUser, response: Response
) -> CalendarFeedRead:
    """A new subscription URL; the previous one answers 404 from now on."""
    response.headers.update(_PRIVATE)
    return CalendarFeedRead(url=await service.rotate(session, settings, principal, utc_now()))


@feeds.get(
    "/cal/{token}.ics",
    operation_id="calendar_feed_ics",
    summary="The calendar feed (iCalendar), by its secret URL",
    response_class=Response,
    responses={
        200: {
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "description": "The calendar (RFC 5545)",
        },
        404: {"description": "Not a current feed URL (`not_found`), whatever is wrong with it."},
    },
)
async def calendar_feed_ics(session: SessionDep, settings: SettingsDep, token: str) -> Response:
    """The subscribed calendar. No credential other than the secret URL."""
    body = await service.render_feed(session, settings, token, utc_now())
    return Response(body, media_type="text/calendar; charset=utf-8", headers=_FEED_HEADERS)
