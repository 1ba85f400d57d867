"""Who is calling: read from the access token, checked by role, scoped by organization."""

import uuid
from dataclasses import dataclass

from backend.models.user import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    # The user's access epoch when the token was issued; see ``is_current``.
    access_epoch: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


@dataclass(frozen=True, slots=True)
class UserAccess:
    """What the user may do now, as the database says (``users`` row)."""

    role: Role
    is_active: bool
    access_epoch: int


def is_current(principal: Principal, access: UserAccess | None) -> bool:
    """Whether a token still speaks for its user: the user exists, is active, and nothing that
    cuts power (a role change, deactivation, a password reset) happened since it was issued."""
    return (
        access is not None
        and access.is_active
        and access.role == principal.role
        and access.access_epoch == principal.access_epoch
    )
