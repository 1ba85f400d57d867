import uuid
from dataclasses import dataclass

from backend.errors import AppError, Conflict

# The door check's refusals (``invalid_qr``, ``outside_geofence``) are backend.presence's.


@dataclass(frozen=True)
class OpenVisitStore:
    """The store of the visit a ``visit_already_open`` refusal names."""

    id: uuid.UUID
    name: str


class VisitAlreadyOpen(AppError):
    """409 with the open visit's ``visit_id`` and its ``store: {id, name}`` (null when unknown),
    so the app can say where that visit is and offer to continue it."""

    status, code = 409, "visit_already_open"

    def __init__(self, visit_id: uuid.UUID, store: OpenVisitStore | None = None) -> None:
        where = f" at {store.name}" if store is not None else ""
        super().__init__(
            f"You already have an open visit{where}; submit or abandon it first.",
            visit_id=str(visit_id),
            store={"id": str(store.id), "name": store.name} if store is not None else None,
        )


class VisitNotOpen(AppError):
    status, code = 409, "visit_not_open"

    def __init__(self, status: str) -> None:
        super().__init__(f"The visit is {status}, not open.", visit_status=status)


class VisitIdConflict(Conflict):
    def __init__(self) -> None:
        super().__init__("A different visit was already recorded with this id.")


class VisitNotSubmitted(AppError):
    status, code = 409, "visit_not_submitted"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"Only a submitted visit can be reviewed; this one is {status}.", visit_status=status
        )


class VisitIncomplete(AppError):
    status, code = 422, "visit_incomplete"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "The visit cannot be submitted yet: " + ", ".join(missing) + ".", missing=missing
        )
