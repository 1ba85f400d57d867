"""The door check's refusals: one body for each, whoever checks in at the door."""

from typing import TYPE_CHECKING

from backend.errors import AppError, FieldError, ValidationFailed

if TYPE_CHECKING:
    from backend.presence.rules import Geofence


class InvalidQr(AppError):
    """Every way a scanned code can be wrong gives the same code (``invalid_qr``)."""

    status, code = 422, "invalid_qr"

    def __init__(self, detail: str = "This is not a valid Doorstep code for this store.") -> None:
        super().__init__(detail)


class OutsideGeofence(AppError):
    status, code = 422, "outside_geofence"

    def __init__(self, fence: "Geofence") -> None:
        super().__init__(
            f"You are {fence.distance_m:.0f} m from the store; check in within "
            f"{fence.radius_m} m of its door.",
            distance_m=round(fence.distance_m, 1),
            radius_m=fence.radius_m,
            accuracy_m=round(fence.accuracy_m, 1),
            effective_distance_m=round(fence.effective_m, 1),
        )


class ImplausibleTime(ValidationFailed):
    """A capture time that the phone's clock offset moves out of any calendar (a year 1 or 9999
    clock): nothing can be placed at it."""

    def __init__(self) -> None:
        message = "The capture time, corrected by the phone's clock offset, is not a real time."
        super().__init__(message, errors=[FieldError("/position/captured_at", message, "range")])
