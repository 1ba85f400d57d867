"""Who is calling: read from the access token (or an API key), checked by role, scoped by
organization."""

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
    # Set when the caller is an API key (``dsk_...``, backend.api_keys): then ``user_id`` is the
    # key's id too (what events record as their ``actor_id``; it names no user), ``role`` is
    # admin so that reads are org-wide, and ``scopes`` are what the key may do. A key reaches
    # only the routes its scopes name (backend.api_keys.scopes), never an admin-only one.
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None


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
