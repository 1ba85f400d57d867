"""Errors of the forms module."""

from collections.abc import Sequence

from backend.errors import AppError, FieldError, ValidationFailed


class InvalidForm(AppError):
    """Answers that do not fit their form version; ``errors`` points at every bad answer."""

    status, code = 422, "invalid_form"

    def __init__(self, version: int, errors: Sequence[FieldError]) -> None:
        super().__init__(
            f"The answers do not fit version {version} of the visit form.", errors=errors
        )


class InvalidFormDefinition(ValidationFailed):
    """A definition that breaks a rule spanning several properties or fields (422, like any
    other malformed body, with pointers into the body: ``/fields/3/visible_if/field``)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("The visit form definition is not valid.", errors=errors)
