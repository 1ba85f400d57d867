"""Who sees which rows: the one org-and-role rule every list applies.

A rep sees their own rows, a supervisor the rows of the reps in the teams they lead, an admin
(and an API key, later) the whole organization; another organization's rows never. kit knows no
domain, so the caller is anything with ``org_id``, ``user_id`` and ``role``, and the domain says
which column names the owner and how to find the supervised reps.
"""

import uuid
from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


class Caller(Protocol):
    @property
    def org_id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def role(self) -> str: ...


def visible_to(
    stmt: Select[T],
    caller: Caller,
    *,
    org_id: InstrumentedAttribute[uuid.UUID],
    owner: InstrumentedAttribute[uuid.UUID],
    supervised: Callable[[uuid.UUID, uuid.UUID], Select[uuid.UUID]],
) -> Select[T]:
    """``stmt`` narrowed to what ``caller`` may see; ``supervised(org_id, supervisor_id)`` is
    the select of the rep ids a supervisor leads."""
    return stmt.where(org_id == caller.org_id, *_role_condition(caller, owner, supervised))


def _role_condition(
    caller: Caller,
    owner: InstrumentedAttribute[uuid.UUID],
    supervised: Callable[[uuid.UUID, uuid.UUID], Select[uuid.UUID]],
) -> tuple[ColumnElement[bool], ...]:
    if caller.role == "rep":
        return (owner == caller.user_id,)
    if caller.role == "supervisor":
        return (owner.in_(supervised(caller.org_id, caller.user_id)),)
    return ()
