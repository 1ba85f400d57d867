"""The rectifications domain's refusals, each with a stable ``code``."""

import uuid
from collections.abc import Sequence

from backend.errors import AppError


class RectificationNotOpen(AppError):
    """The task is not waiting for the assignee's fix (it is submitted or verified)."""

    status, code = 409, "rectification_not_open"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"The rectification is {status}; only an open or reopened one takes a fix.",
            rectification_status=status,
        )


class RectificationNotSubmitted(AppError):
    """Verify and reopen judge a submitted fix; there is none to judge."""

    status, code = 409, "rectification_not_submitted"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"The rectification is {status}; only a submitted one can be verified or reopened.",
            rectification_status=status,
        )


class NotAtStore(AppError):
    """The after photo proves the fix at the door: it needs an open visit at that store."""

    status, code = 409, "not_at_store"

    def __init__(self, store_id: uuid.UUID, open_visit_store_id: uuid.UUID | None) -> None:
        where = (
            "You have no open visit."
            if open_visit_store_id is None
            else "Your open visit is at another store."
        )
        super().__init__(
            f"{where} Check in at the store first, then take the after photo.",
            store_id=str(store_id),
            open_visit_store_id=str(open_visit_store_id) if open_visit_store_id else None,
        )


class RectificationIncomplete(AppError):
    """Everything a submit still needs, listed at once."""

    status, code = 422, "rectification_incomplete"

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(
            "The rectification cannot be submitted yet: " + ", ".join(missing) + ".",
            missing=list(missing),
        )
