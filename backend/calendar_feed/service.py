"""The calendar feed: each signed-in user's secret ``.ics`` URL and what it serves.

- ``GET /api/v1/calendar-feed`` makes the user's feed row on the first call (version 1) and
  answers its URL; later calls answer the same URL. ``POST .../rotate`` bumps the version: the
  URL changes and the old one answers 404. The URL is a MAC over (org, feed, user, version) (see
  ``tokens``), so no secret is stored.
- ``GET /cal/{token}.ics`` needs no other credential (calendar apps send none). A token that is
  malformed, forged, of another version, or of a deactivated user is 404, the same 404 in every
  case, after the same work (one indexed read, one HMAC, ``compare_digest``).
- What it holds, with the visibility of the lists in the app: the open next actions (the actions
  service's ``list_actions``: a rep their own, a supervisor the reps of the teams they lead, an
  admin the org's) and the rectifications still owed, open or reopened (``list_rectifications``:
  a supervisor also those at their teams' stores and those they raised). Overdue ones stay:
  they are still owed. At most ``FEED_LIMIT`` of each, soonest due first (overdue first).
- A fixed number of queries whatever the size: the feed row; one page of actions and their
  stores; per owed status one page of rectifications and its batched reads; the assignees'
  names for a team feed. Never one per entry.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import service as action_service
from backend.actions.schemas import NextActionFilters
from backend.auth.principal import Principal
from backend.calendar_feed import entries, ics, repository, tokens
from backend.calendar_feed.entries import ActionEntry, Lang, RectificationEntry
from backend.config import Settings
from backend.errors import NotFound
from backend.kit.pagination import PageParams
from backend.models import OWED, CalendarFeed, NextAction
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.rectifications import service as rectification_service
from backend.rectifications.schemas import RectificationFilters, RectificationRead
from backend.users import service as user_service

#: Entries of each kind (and each owed rectification status) in one feed.
FEED_LIMIT = 500


def _not_found() -> NotFound:
    return NotFound("No such calendar.")


# --- the URL ----------------------------------------------------------------------------------


async def feed_url(
    session: AsyncSession, settings: Settings, principal: Principal, now: datetime
) -> str:
    """The caller's feed URL, the feed made at ``now`` if it is their first call."""
    feed = await repository.ensure(session, principal.org_id, principal.user_id, now)
    return await _url_of(session, settings, feed)


async def rotate(
    session: AsyncSession, settings: Settings, principal: Principal, now: datetime
) -> str:
    """A new URL for the caller's feed; the previous one answers 404 from now on."""
    feed = await repository.ensure(session, principal.org_id, principal.user_id, now)
    feed = await repository.bump_version(session, feed, now)
    return await _url_of(session, settings, feed)


async def _url_of(session: AsyncSession, settings: Settings, feed: CalendarFeed) -> str:
    org = await org_service.get_org(session, feed.org_id)
    owner = tokens.FeedOwner(org_id=feed.org_id, feed_id=feed.id, user_id=feed.user_id)
    token = tokens.make_token(
        settings.secret, org.signing_secret, org.signing_key_version, owner, feed.version
    )
    return tokens.feed_url(settings.public_base, token)


# --- the feed ---------------------------------------------------------------------------------


async def render_feed(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> bytes:
    """The ``.ics`` the token stands for, at ``now``; ``NotFound`` for any token that is not a
    current feed URL."""
    reader, lang = await _reader(session, settings, token)
    actions = await _action_entries(session, reader, now)
    rects = await _rectification_entries(session, reader, now)
    events = [
        *(entries.action_event(a, lang, settings.public_base) for a in actions),
        *(entries.rectification_event(r, lang, settings.public_base) for r in rects),
    ]
    events.sort(key=lambda e: (e.due_at, e.uid))
    name = entries.calendar_name(lang, team=reader.role != Role.rep)
    return ics.build(ics.FeedCalendar(name, settings.timezone, events), now)


async def _reader(session: AsyncSession, settings: Settings, token: str) -> tuple[Principal, Lang]:
    parsed = tokens.parse_token(token)
    if parsed is None:
        raise _not_found()
    row = await repository.by_id_with_owner(session, parsed.feed_id)
    stored = (
        tokens.StoredFeed(
            owner=tokens.FeedOwner(row.org_id, row.feed_id, row.user_id),
            version=row.version,
            org_signing_secret=row.org_signing_secret,
            key_version=row.key_version,
        )
        if row is not None
        else None
    )
    if not tokens.is_genuine(settings.secret, parsed, stored) or row is None or not row.is_active:
        raise _not_found()
    reader = Principal(user_id=row.user_id, org_id=row.org_id, role=Role(row.role))
    return reader, entries.lang_of(row.locale)


def _everything() -> PageParams:
    return PageParams(limit=FEED_LIMIT, cursor=None)


async def _action_entries(
    session: AsyncSession, reader: Principal, now: datetime
) -> list[ActionEntry]:
    rows, _ = await action_service.list_actions(
        session, reader, NextActionFilters(status="open"), _everything(), now
    )
    reads = await action_service.reads(session, rows, now)
    names = await _names_of_others(session, reader, {a.assignee_id for a in rows})
    return [
        _action_entry(row, read.store.name, names) for row, read in zip(rows, reads, strict=True)
    ]


def _action_entry(action: NextAction, store_name: str, names: dict[uuid.UUID, str]) -> ActionEntry:
    return ActionEntry(
        id=action.id,
        visit_id=action.visit_id,
        type=action.type,
        due_at=action.due_at,
        note=action.note,
        reschedule_count=action.reschedule_count,
        updated_at=action.updated_at,
        store_name=store_name,
        assignee_name=names.get(action.assignee_id),
    )


async def _names_of_others(
    session: AsyncSession, reader: Principal, user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Display names of the assignees other than the reader (one query; none for a rep)."""
    others = user_ids - {reader.user_id}
    if not others:
        return {}
    users = await user_service.users_by_id(session, reader.org_id, others)
    return {user_id: user.display_name for user_id, user in users.items()}


async def _rectification_entries(
    session: AsyncSession, reader: Principal, now: datetime
) -> list[RectificationEntry]:
    owed: list[RectificationRead] = []
    for status in OWED:
        page, _ = await rectification_service.list_rectifications(
            session, reader, RectificationFilters(status=status), _everything(), now
        )
        owed.extend(page)
    return [_rectification_entry(r, reader) for r in owed]


def _rectification_entry(rect: RectificationRead, reader: Principal) -> RectificationEntry:
    reopens = [step for step in rect.history if step.status == "reopened"]
    moments: Sequence[datetime] = [rect.created_at, *(step.at for step in rect.history)]
    return RectificationEntry(
        id=rect.id,
        title={"zh": rect.title.zh, "en": rect.title.en},
        critical=rect.critical,
        due_at=rect.due_at,
        note=rect.note,
        reopens=len(reopens),
        reopen_reason=reopens[-1].reason if reopens and rect.status == "reopened" else None,
        last_modified=max(moments),
        store_name=rect.store.name,
        assignee_name=(rect.assignee.display_name if rect.assignee.id != reader.user_id else None),
    )
