"""One module per table; importing this package registers every table on the metadata."""

from backend.kit.db_model import Base
from backend.models.customer_type import CustomerType
from backend.models.event import Event
from backend.models.idempotency_key import IdempotencyKey
from backend.models.login_name import LoginName
from backend.models.login_throttle import LoginThrottle
from backend.models.next_action import NextAction, NextActionStatus, NextActionType
from backend.models.next_action_reschedule import NextActionReschedule
from backend.models.notification import Notification
from backend.models.organization import Organization
from backend.models.photo import Photo, PhotoKind
from backend.models.photo_hash_band import PhotoHashBand
from backend.models.refresh_token import RefreshToken
from backend.models.store import Store
from backend.models.team import Team
from backend.models.team_member import TeamMember
from backend.models.user import Role, User
from backend.models.visit import Visit, VisitStatus
from backend.models.visit_form import VisitForm
from backend.models.visit_review import ReviewDecision, VisitReview

__all__ = [
    "Base",
    "CustomerType",
    "Event",
    "IdempotencyKey",
    "LoginName",
    "LoginThrottle",
    "NextAction",
    "NextActionReschedule",
    "NextActionStatus",
    "NextActionType",
    "Notification",
    "Organization",
    "Photo",
    "PhotoHashBand",
    "PhotoKind",
    "RefreshToken",
    "ReviewDecision",
    "Role",
    "Store",
    "Team",
    "TeamMember",
    "User",
    "Visit",
    "VisitForm",
    "VisitReview",
    "VisitStatus",
]
