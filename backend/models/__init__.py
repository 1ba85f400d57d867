"""One module per table; importing this package registers every table on the metadata."""

from backend.kit.db_model import Base
from backend.models.api_key import ApiKey
from backend.models.audit import Audit, AuditBand, AuditStatus
from backend.models.audit_checklist import AuditChecklist
from backend.models.audit_template import AuditTemplate
from backend.models.calendar_feed import CalendarFeed
from backend.models.customer_type import CustomerType
from backend.models.event import Event
from backend.models.feed_position import FeedPosition
from backend.models.idempotency_key import IdempotencyKey
from backend.models.login_name import LoginName
from backend.models.login_throttle import LoginThrottle
from backend.models.next_action import NextAction, NextActionStatus, NextActionType
from backend.models.next_action_reschedule import NextActionReschedule
from backend.models.notification import Notification
from backend.models.organization import Organization
from backend.models.photo import Photo, PhotoKind
from backend.models.photo_hash_band import PhotoHashBand
from backend.models.rectification import OWED, Rectification, RectificationStatus
from backend.models.rectification_change import RectificationChange
from backend.models.refresh_token import RefreshToken
from backend.models.store import Store
from backend.models.team import Team
from backend.models.team_member import TeamMember
from backend.models.user import Role, User
from backend.models.visit import Visit, VisitStatus
from backend.models.visit_form import VisitForm
from backend.models.visit_review import ReviewDecision, VisitReview
from backend.models.webhook_attempt import WebhookAttempt
from backend.models.webhook_delivery import DeliveryStatus, WebhookDelivery
from backend.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "OWED",
    "ApiKey",
    "Audit",
    "AuditBand",
    "AuditChecklist",
    "AuditStatus",
    "AuditTemplate",
    "Base",
    "CalendarFeed",
    "CustomerType",
    "DeliveryStatus",
    "Event",
    "FeedPosition",
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
    "Rectification",
    "RectificationChange",
    "RectificationStatus",
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
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
