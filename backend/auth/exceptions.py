from typing import Any

from backend.errors import RateLimited, Unauthorized


class InvalidGrant(Unauthorized):
    """OAuth2 ``invalid_grant``; the same answer for unknown users and wrong passwords."""

    keeps_changes = True

    def __init__(self, detail: str = "Incorrect username or password.", **kwargs: Any) -> None:
        super().__init__(detail, error="invalid_grant", **kwargs)


class LoginLocked(RateLimited):
    def __init__(
        self,
        retry_after_s: int,
        detail: str = "Too many failed logins for this account; try again later.",
    ) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_s)},
            retry_after_s=retry_after_s,
        )


class AccessChanged(Unauthorized):
    """The token predates a change to its user (role, deactivation, password): sign in again."""

    def __init__(self) -> None:
        super().__init__(
            "Your access has changed since this token was issued; sign in again.",
            error="invalid_token",
        )
