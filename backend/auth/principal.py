"""Who is calling: read from the access token, checked by role, scoped by organization."""

import uuid
from dataclasses import dataclass

from backend.models.user import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin
