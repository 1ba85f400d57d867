"""The client policy, assembled from the domains that own each rule: nothing here is a second
copy of a rule, only a pointer to where it lives."""

from datetime import datetime
from typing import Final

from backend.actions.labels import action_types
from backend.audits import results as audit_results
from backend.audits import scoring
from backend.audits import service as audit_service
from backend.config import Settings
from backend.models import PhotoKind
from backend.photos.processing import MAX_UPLOAD_BYTES
from backend.policy.schemas import (
    AuditBands,
    AuditPolicy,
    ClientPolicy,
    NextActionTypeOption,
    RectificationDueDays,
    TypeLabel,
)
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
        audit=AuditPolicy(
            pass_percent=float(scoring.PASS_FROM),
            bands=AuditBands(green=float(scoring.GREEN_FROM), amber=float(scoring.AMBER_FROM)),
            scale_fail_below=audit_results.SCALE_FAIL_BELOW,
        ),
        rectification_due_days=RectificationDueDays(
            critical=audit_service.DUE_CRITICAL.days,
            default=audit_service.DUE_DEFAULT.days,
            max=audit_service.DUE_MAX.days,
        ),
        server_time=now,
    )
