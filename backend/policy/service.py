"""The client policy, assembled from the domains that own each rule: nothing here is a second
copy of a rule, only a pointer to where it lives."""

from datetime import datetime
from typing import Final

from backend.actions.labels import action_types
from backend.config import Settings
from backend.models import PhotoKind
from backend.photos.processing import MAX_UPLOAD_BYTES
from backend.policy.schemas import ClientPolicy, NextActionTypeOption, TypeLabel
from backend.visits import completion
from backend.visits import service as visit_service

# The phone downscales every photo to this long edge before queueing it (DESIGN §7): what a
# rep's data plan and the outbox can carry. The server keeps up to its own, larger, limit.
PHONE_PHOTO_LONG_EDGE_PX: Final = 1600


def client_policy(settings: Settings, now: datetime) -> ClientPolicy:
    return ClientPolicy(
        next_action_horizon_days=settings.next_action_horizon_days,
        photo_kinds=list(PhotoKind),
        photo_max_bytes=MAX_UPLOAD_BYTES,
        photo_long_edge_px=PHONE_PHOTO_LONG_EDGE_PX,
        open_visit_max_hours=int(visit_service.STALE_AFTER.total_seconds() // 3600),
        timezone=settings.timezone,
        locale_default=settings.locale_default,
        next_action_types=[
            NextActionTypeOption(value=value, label=TypeLabel(**label))
            for value, label in action_types()
        ],
        submit_requires=completion.submit_requires(),
        server_time=now,
    )
