"""Turn a visit and what hangs off it into the API shape (server_time included)."""

import uuid
from datetime import datetime

from backend.actions.service import action_read, store_ref
from backend.forms.definitions import FormVersion
from backend.models import Photo
from backend.visits.schemas import (
    CheckIn,
    PhotoRead,
    ReviewRead,
    Trust,
    VisitForm,
    VisitRead,
    VisitRep,
    VisitStore,
)
from backend.visits.service import VisitView


def photo_read(photo: Photo) -> PhotoRead:
    assert photo.kind is not None  # a visit's photo has its kind (the one-owner CHECK)
    url = f"/api/v1/visits/{photo.visit_id}/photos/{photo.kind.value}"
    return PhotoRead(
        kind=photo.kind.value,
        sha256=photo.sha256.hex(),
        width=photo.width,
        height=photo.height,
        bytes=photo.bytes,
        url=url,
        thumb_url=f"{url}/thumb",
        flags=photo.flags,
        captured_at=photo.captured_at,
        taken_at=photo.taken_at,
    )


def visit_read(view: VisitView, now: datetime) -> VisitRead:
    """The API shape of ``view`` at ``now`` (its ``server_time``, and its next action's)."""
    visit = view.visit
    return VisitRead(
        id=visit.id,
        org_id=visit.org_id,
        store=VisitStore.model_validate(view.store),
        rep=VisitRep.model_validate(view.rep),
        status=visit.status,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        abandoned_at=visit.abandoned_at,
        abandon_reason=visit.abandon_reason,
        check_in=CheckIn(
            lat=visit.check_in_lat,
            lng=visit.check_in_lng,
            accuracy_m=visit.check_in_accuracy_m,
            distance_m=visit.check_in_distance_m,
            captured_at=visit.captured_at,
            device_time=visit.device_time,
            server_received_at=visit.server_received_at,
            clock_offset_s=visit.clock_offset_s,
            queued_offline=visit.queued_offline,
        ),
        photos={kind.value: photo_read(photo) for kind, photo in view.photos.items()},
        trust=Trust.model_validate({"score": visit.trust_score, "flags": visit.flags}),
        form=_form(view),
        answers=visit.answers,
        next_action=(
            action_read(view.next_action, store_ref(view.store), now) if view.next_action else None
        ),
        submitted_at=visit.submitted_at,
        submit_count=visit.submit_count,
        reviews=[ReviewRead.model_validate(r) for r in view.reviews],
        summary=visit.summary,
        server_time=now,
    )


def _form(view: VisitView) -> VisitForm | None:
    return _form_read(view.form) if view.form is not None else None


# A published form version never changes, so its API shape is built once per process (there
# are a handful of versions per customer type: the cache stays small).
_FORM_READS: dict[uuid.UUID, VisitForm] = {}


def _form_read(form: FormVersion) -> VisitForm:
    cached = _FORM_READS.get(form.id)
    if cached is None:
        definition = form.definition.model_dump(mode="json", exclude_none=True)
        cached = VisitForm(
            customer_type=form.customer_type, version=form.version, fields=definition["fields"]
        )
        _FORM_READS[form.id] = cached
    return cached
