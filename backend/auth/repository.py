"""SQL of the auth domain that runs on a plain asyncpg connection (the per-request check)."""

import uuid

from backend.auth.principal import UserAccess
from backend.db import SqlConnection
from backend.models.user import Role

# The primary key's index answers it; folded into the check-in's own read on that hot path.
CURRENT_ACCESS_SQL = """
SELECT role, is_active, access_epoch FROM users WHERE org_id = $1 AND id = $2
"""


async def current_access(
    connection: SqlConnection, org_id: uuid.UUID, user_id: uuid.UUID
) -> UserAccess | None:
    row = await connection.fetchrow(CURRENT_ACCESS_SQL, org_id, user_id)
    if row is None:
        return None
    return UserAccess(Role(row["role"]), row["is_active"], row["access_epoch"])
