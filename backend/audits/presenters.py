"""The API shape of an audit and of a template (one place, for every route that returns one)."""

from datetime import datetime

from backend.audits import service
from backend.audits.checklist import Checklist, checklist_read
from backend.audits.schemas import (
    Auditor,
    AuditRead,
    AuditTemplateRead,
    ChecklistRead,
    ItemResult,
    PreviousAudit,
    ScoreRead,
)
from backend.models import AuditStatus
from backend.visits.schemas import CheckIn, Trust, VisitStore


def photo_url(audit_id: object, item_key: str) -> str:
    return f"/api/v1/audits/{audit_id}/items/{item_key}/photo"


def checklist_out(checklist: Checklist) -> ChecklistRead:
    shape = checklist_read(checklist)
    return ChecklistRead(
        key=checklist.template_key, version=checklist.version, items=shape["items"]
    )


def template_read(view: service.TemplateView) -> AuditTemplateRead:
    template = view.template
    return AuditTemplateRead(
        key=template.key,
        name=template.name,
        name_en=template.name_en,
        customer_types=template.customer_types,
        checklist=checklist_out(view.checklist) if view.checklist else None,
    )


def audit_read(view: service.AuditView, now: datetime) -> AuditRead:
    audit = view.audit
    score = (
        ScoreRead(
            earned=audit.score_earned or 0.0,
            possible=audit.score_possible or 0.0,
            percent=audit.score_percent or 0.0,
            band=audit.band.value if audit.band else "red",
            failed_critical=audit.failed_critical,
        )
        if audit.status == AuditStatus.submitted
        else _running(view)
    )
    keys = [item.key for item in view.checklist.items]
    answered = [k for k in keys if k in audit.results or k in view.photos]
    return AuditRead(
        id=audit.id,
        store=VisitStore.model_validate(view.store),
        auditor=Auditor.model_validate(view.auditor),
        status=audit.status.value,
        started_at=audit.started_at,
        submitted_at=audit.submitted_at,
        abandoned_at=audit.abandoned_at,
        abandon_reason=audit.abandon_reason,
        check_in=CheckIn(
            lat=audit.check_in_lat,
            lng=audit.check_in_lng,
            accuracy_m=audit.check_in_accuracy_m,
            distance_m=audit.check_in_distance_m,
            captured_at=audit.captured_at,
            device_time=audit.device_time,
            server_received_at=audit.server_received_at,
            clock_offset_s=audit.clock_offset_s,
            queued_offline=audit.queued_offline,
        ),
        template=checklist_out(view.checklist),
        results={key: _item_result(view, key) for key in answered},
        score=score,
        passed=audit.passed if audit.status == AuditStatus.submitted else None,
        trust=Trust.model_validate({"score": audit.trust_score, "flags": audit.flags}),
        rectifications=view.rectifications,
        previous=(
            PreviousAudit(
                id=view.previous.id,
                percent=view.previous.score_percent or 0.0,
                band=view.previous.band.value if view.previous.band else None,
                submitted_at=view.previous.submitted_at,
            )
            if view.previous is not None
            else None
        ),
        server_time=now,
    )


def _running(view: service.AuditView) -> ScoreRead | None:
    running = service.running_score(view)
    if running is None:
        return None
    return ScoreRead(
        earned=running.earned,
        possible=running.possible,
        percent=running.percent,
        band=running.band,
        failed_critical=running.failed_critical,
    )


def _item_result(view: service.AuditView, key: str) -> ItemResult:
    stored = view.audit.results.get(key) or {}
    return ItemResult(
        result=stored.get("result"),
        value=stored.get("value"),
        note=stored.get("note"),
        photo_url=photo_url(view.audit.id, key) if key in view.photos else None,
        failed=service.item_failed(view, key),
    )
