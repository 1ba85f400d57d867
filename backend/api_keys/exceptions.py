from typing import Any

from backend.errors import (
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)


class KeyNotValid(Unauthorized):
    """Unknown, malformed, wrong, revoked and expired keys all get the same answer: which one it
    was would tell a holder of a stolen key nothing useful, and a prober less."""

    def __init__(self) -> None:
        super().__init__(
            "The API key is not valid (unknown, revoked or expired).",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            error="invalid_token",
        )


class InsufficientScope(Forbidden):
    """The key may not call this route: it lacks ``required_scope``, or (``required_scope``
    null) the route is never for API keys."""

    code = "insufficient_scope"

    def __init__(self, required_scope: str | None, headers: dict[str, str] | None = None) -> None:
        detail = (
            f"This API key lacks the scope {required_scope}."
            if required_scope
            else "API keys cannot call this route; it takes a signed-in user."
        )
        challenge = 'Bearer error="insufficient_scope"'
        if required_scope:
            challenge += f', scope="{required_scope}"'
        super().__init__(
            detail,
            headers={**(headers or {}), "WWW-Authenticate": challenge},
            required_scope=required_scope,
        )


class KeyRateLimited(RateLimited):
    def __init__(self, headers: dict[str, str], retry_after_s: int) -> None:
        super().__init__(
            "This API key is over its rate limit; retry after the time in Retry-After.",
            headers=headers,
            retry_after_s=retry_after_s,
        )


class ApiKeyNotFound(NotFound):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("No such API key in your organization.", **kwargs)


class ExpiryNotInFuture(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(
            "expires_at must be in the future.",
            errors=[FieldError("/expires_at", "must be in the future", "expires_in_past")],
        )
