from datetime import datetime

from backend.errors import AppError, Conflict
from backend.kit.time import isoformat_z


class ActionDueOutOfRange(AppError):
    """422: the due time is not inside the allowed window; the body says which window."""

    status, code = 422, "action_due_out_of_range"

    def __init__(self, earliest: datetime, latest: datetime) -> None:
        super().__init__(
            "The due time must be after now and at most "
            f"{isoformat_z(latest)} (within the next-action horizon).",
            earliest=isoformat_z(earliest),
            latest=isoformat_z(latest),
        )


class ActionIdConflict(Conflict):
    def __init__(self) -> None:
        super().__init__("A different next action was already recorded with this id.")


class ActionNotOpen(Conflict):
    def __init__(self) -> None:
        super().__init__("The next action is already done.", action_status="done")
