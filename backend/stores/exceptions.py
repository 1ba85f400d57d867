from collections.abc import Sequence

from backend.errors import Conflict, FieldError, NotFound, ValidationFailed
from backend.presence.exceptions import InvalidQr as InvalidQr  # the door check's refusal


class StoreNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such store.")


class StoreCodeTaken(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"A store with the code {code!r} already exists.",
            field="code",
            errors=[FieldError("/code", "already used by another store", "conflict")],
        )


class UnknownCustomerType(ValidationFailed):
    def __init__(self, key: str, pointer: str = "/customer_type") -> None:
        super().__init__(
            f"There is no customer type {key!r} in this organization.",
            errors=[FieldError(pointer, "no such customer type", "invalid_customer_type")],
        )


class UnknownTeam(ValidationFailed):
    def __init__(self, pointer: str = "/team_id") -> None:
        super().__init__(
            "There is no such team in this organization.",
            errors=[FieldError(pointer, "no such team", "invalid_team")],
        )


class InvalidNear(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(
            "`near` must be 'lat,lng' in decimal degrees.",
            errors=[FieldError("/query/near", "expected 'lat,lng'", "invalid_near")],
        )


class StoresNotFound(NotFound):
    """A poster batch named stores that do not exist in the caller's organization."""

    def __init__(self, indexes: Sequence[int]) -> None:
        super().__init__(
            f"{len(indexes)} of the requested stores do not exist.",
            errors=[FieldError(f"/store_ids/{i}", "no such store", "not_found") for i in indexes],
        )


class InvalidImport(ValidationFailed):
    def __init__(self, detail: str, message: str, code: str = "invalid_csv") -> None:
        super().__init__(detail, errors=[FieldError("/file", message, code)])
