"""The audits domain's refusals; the door's (``invalid_qr``, ``outside_geofence``) are the door
check's own, in backend.presence.exceptions, so an audit and a check-in refuse alike."""

import uuid
from collections.abc import Sequence

from backend.errors import AppError, FieldError, ValidationFailed


class AuditAlreadyOpen(AppError):
    """One open audit per auditor: finish or abandon it first."""

    status, code = 409, "audit_already_open"

    def __init__(self, audit_id: uuid.UUID, store_id: uuid.UUID | None = None) -> None:
        super().__init__(
            "You already have an open audit; submit or abandon it first.",
            audit_id=str(audit_id),
            store_id=str(store_id) if store_id else None,
        )


class AuditIdConflict(AppError):
    status, code = 409, "conflict"

    def __init__(self) -> None:
        super().__init__("An audit with this id was already started with different content.")


class AuditNotOpen(AppError):
    status, code = 409, "audit_not_open"

    def __init__(self, audit_status: str) -> None:
        super().__init__(
            f"The audit is {audit_status}; it can no longer be changed.",
            audit_status=str(audit_status),
        )


class InvalidAudit(AppError):
    """Results that do not fit the audit's pinned checklist; ``errors`` points at each."""

    status, code = 422, "invalid_audit"

    def __init__(self, version: int, errors: Sequence[FieldError]) -> None:
        super().__init__(
            f"The results do not fit version {version} of the audit checklist.", errors=errors
        )


class AuditIncomplete(AppError):
    """Everything a submit still needs, listed at once."""

    status, code = 422, "audit_incomplete"

    def __init__(self, missing: list[str]) -> None:
        super().__init__("The audit cannot be submitted yet.", missing=missing)


class InvalidChecklist(ValidationFailed):
    """A checklist that breaks a rule spanning several properties or items (422 with pointers
    into the body: ``/items/3/scale_max``)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("The audit checklist is not valid.", errors=errors)


class NoTemplateForStore(AppError):
    status, code = 422, "validation_error"

    def __init__(self, template_key: str | None) -> None:
        detail = (
            f"There is no audit template {template_key!r} for this store."
            if template_key
            else "No audit template applies to this store's customer type."
        )
        super().__init__(detail, errors=[FieldError("/template_key", detail, "not_found")])
