import uuid
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model

from backend.events.catalog import PAYLOADS, EventType
from backend.kit.schemas import CleanStr, ResponseSchema, Schema, ShortText, UtcDatetime
from backend.models import DeliveryStatus
from backend.webhooks.event_types import SUBSCRIBABLE, WEBHOOK_EVENT_TYPES, WILDCARD


def _event_types(value: list[str]) -> list[str]:
    if WILDCARD in value:
        if len(value) != 1:
            raise ValueError('use ["*"] alone for every type')
        return value
    unknown = sorted(set(value) - SUBSCRIBABLE)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown[:5])}")
    return sorted(set(value))


EventTypes = Annotated[
    list[Annotated[str, StringConstraints(max_length=64)]],
    Field(min_length=1, max_length=len(WEBHOOK_EVENT_TYPES) + 1),
    AfterValidator(_event_types),
]
Url = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


class WebhookEndpointCreate(Schema):
    url: Url
    event_types: EventTypes = Field(
        description='Event types to receive, or `["*"]` for every one (ping excepted: it is '
        "sent by the test button only)."
    )
    description: ShortText = ""


class WebhookEndpointUpdate(Schema):
    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None
    description: ShortText | None = None


class WebhookEndpointRead(ResponseSchema):
    id: uuid.UUID
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    description: str
    failing_since: UtcDatetime | None
    previous_secret_expires_at: UtcDatetime | None = Field(
        description="After a rotation, until when the old secret still signs beside the new one."
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str = Field(description="`whsec_` + base64; shown in this answer only.")


class WebhookEndpointPage(BaseModel):
    items: list[WebhookEndpointRead]
    next_cursor: str | None


class WebhookAttemptRead(ResponseSchema):
    attempt: int
    at: UtcDatetime
    succeeded: bool
    response_status: int | None
    response_body: str | None = Field(description="The receiver's answer, at most 2 KB.")
    error: str | None
    duration_ms: int
    next_attempt_at: UtcDatetime | None


class WebhookDeliveryRead(BaseModel):
    """One event to one endpoint, with every try at it (newest first). ``attempt``,
    ``response_status`` and ``duration_ms`` are the latest try's (0 and null before the first)."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `webhook-id` header of every try.")
    event_type: str
    attempt: int
    status: DeliveryStatus
    response_status: int | None
    duration_ms: int | None
    next_attempt_at: UtcDatetime | None
    created_at: UtcDatetime
    attempts: list[WebhookAttemptRead]


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None


class RedeliverFailed(Schema):
    since: UtcDatetime = Field(description="Failed deliveries made at or after this time.")


class RedeliverFailedResult(BaseModel):
    queued: int


# --- what receivers get (OpenAPI ``webhooks``) --------------------------------------------------


class WebhookEnvelope(BaseModel):
    """The body of every webhook (Standard Webhooks): ``data`` is the event's payload."""

    model_config = ConfigDict(extra="forbid")

    type: str
    timestamp: UtcDatetime = Field(description="When the event occurred (not when it was sent).")
    data: dict[str, Any]


def envelope_model(event_type: EventType) -> type[BaseModel]:
    """``{type, timestamp, data}`` with ``data`` typed as the catalog's payload of the type."""
    payload = PAYLOADS[event_type]
    name = "Webhook" + "".join(
        part.title() for part in event_type.value.replace(".", "_").split("_")
    )
    model: type[BaseModel] = create_model(
        name,
        __doc__=f"The `{event_type.value}` webhook.",
        type=(cast(Any, Literal)[event_type.value], ...),
        timestamp=(UtcDatetime, ...),
        data=(payload, ...),
    )
    return model
