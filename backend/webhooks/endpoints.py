"""Webhook endpoints and their deliveries (admin only, DESIGN §5)."""

import uuid
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response, status

from backend.auth.dependencies import Admin, SettingsDep
from backend.events.catalog import EventType
from backend.kit.deps import SessionDep
from backend.kit.pagination import PageParams, page_params
from backend.kit.time import utc_now
from backend.models import WebhookEndpoint
from backend.webhooks import service
from backend.webhooks.event_types import WEBHOOK_EVENT_TYPES
from backend.webhooks.schemas import (
    RedeliverFailed,
    RedeliverFailedResult,
    WebhookAttemptRead,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    envelope_model,
)
from backend.webhooks.service import DeliveryView

router = APIRouter(prefix="/api/v1/webhook-endpoints", tags=["webhooks"])
deliveries_router = APIRouter(prefix="/api/v1/webhook-deliveries", tags=["webhooks"])

Responses = dict[int | str, dict[str, Any]]

_NOT_FOUND: Responses = {
    404: {"description": "No such endpoint in this organization (`not_found`)"}
}
_ADMIN: Responses = {
    401: {"description": "Not signed in (`unauthorized`)"},
    403: {"description": "Not an admin (`forbidden`); API keys never reach these routes"},
    422: {"description": "Invalid input (`validation_error`)"},
}
_URL: Responses = {422: {"description": "Invalid input, or a URL the SSRF rule refuses "
                             "(`webhook_url_not_allowed`)"}}  # fmt: skip
_DISABLED: Responses = {409: {"description": "The endpoint is disabled (`conflict`)"}}


def _read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(endpoint)


def _with_secret(endpoint: WebhookEndpoint) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret.model_validate(endpoint)


def _delivery(view: DeliveryView) -> WebhookDeliveryRead:
    d, last = view.delivery, view.last
    return WebhookDeliveryRead(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=d.event_type,
        attempt=d.attempts,
        status=d.status,
        response_status=last.response_status if last else None,
        duration_ms=last.duration_ms if last else None,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        attempts=[WebhookAttemptRead.model_validate(a) for a in view.attempts],
    )


@router.post(
    "",
    operation_id="webhook_endpoints_create",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookEndpointWithSecret,
    responses={**_ADMIN, **_URL},
)
async def create_endpoint(
    session: SessionDep, settings: SettingsDep, principal: Admin, body: WebhookEndpointCreate
) -> WebhookEndpointWithSecret:
    endpoint = await service.create_endpoint(
        session, principal, body, settings.webhook_allowed_hosts, utc_now()
    )
    return _with_secret(endpoint)


@router.get(
    "",
    operation_id="webhook_endpoints_list",
    response_model=WebhookEndpointPage,
    responses=_ADMIN,
)
async def list_endpoints(
    session: SessionDep, principal: Admin, page: PageParams = Depends(page_params)
) -> WebhookEndpointPage:
    items, cursor = await service.list_endpoints(session, principal, page)
    return WebhookEndpointPage(items=[_read(e) for e in items], next_cursor=cursor)


@router.get(
    "/{endpoint_id}",
    operation_id="webhook_endpoints_get",
    response_model=WebhookEndpointRead,
    responses={**_ADMIN, **_NOT_FOUND},
)
async def get_endpoint(
    session: SessionDep, principal: Admin, endpoint_id: uuid.UUID
) -> WebhookEndpointRead:
    return _read(await service.get_endpoint(session, principal, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    operation_id="webhook_endpoints_update",
    response_model=WebhookEndpointRead,
    responses={**_ADMIN, **_NOT_FOUND, **_URL},
)
async def update_endpoint(
    session: SessionDep,
    settings: SettingsDep,
    principal: Admin,
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
) -> WebhookEndpointRead:
    endpoint = await service.update_endpoint(
        session, principal, endpoint_id, body, settings.webhook_allowed_hosts, utc_now()
    )
    return _read(endpoint)


@router.delete(
    "/{endpoint_id}",
    operation_id="webhook_endpoints_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**_ADMIN, **_NOT_FOUND},
)
async def delete_endpoint(
    session: SessionDep, principal: Admin, endpoint_id: uuid.UUID
) -> Response:
    await service.delete_endpoint(session, principal, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    operation_id="webhook_endpoints_rotate_secret",
    response_model=WebhookEndpointWithSecret,
    responses={**_ADMIN, **_NOT_FOUND},
)
async def rotate_secret(
    session: SessionDep, principal: Admin, endpoint_id: uuid.UUID
) -> WebhookEndpointWithSecret:
    return _with_secret(await service.rotate_secret(session, principal, endpoint_id, utc_now()))


@router.post(
    "/{endpoint_id}/test",
    operation_id="webhook_endpoints_test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryRead,
    responses={**_ADMIN, **_NOT_FOUND, **_DISABLED},
)
async def send_test(
    session: SessionDep, principal: Admin, endpoint_id: uuid.UUID
) -> WebhookDeliveryRead:
    return _delivery(await service.send_test(session, principal, endpoint_id, utc_now()))


@router.get(
    "/{endpoint_id}/deliveries",
    operation_id="webhook_endpoints_deliveries",
    response_model=WebhookDeliveryPage,
    responses={**_ADMIN, **_NOT_FOUND},
)
async def list_deliveries(
    session: SessionDep,
    principal: Admin,
    endpoint_id: uuid.UUID,
    page: PageParams = Depends(page_params),
) -> WebhookDeliveryPage:
    views, cursor = await service.list_deliveries(session, principal, endpoint_id, page)
    return WebhookDeliveryPage(items=[_delivery(v) for v in views], next_cursor=cursor)


@router.post(
    "/{endpoint_id}/redeliver-failed",
    operation_id="webhook_endpoints_redeliver_failed",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RedeliverFailedResult,
    responses={**_ADMIN, **_NOT_FOUND, **_DISABLED},
)
async def redeliver_failed(
    session: SessionDep, principal: Admin, endpoint_id: uuid.UUID, body: RedeliverFailed
) -> RedeliverFailedResult:
    queued = await service.redeliver_failed(session, principal, endpoint_id, body.since, utc_now())
    return RedeliverFailedResult(queued=queued)


@deliveries_router.post(
    "/{delivery_id}/redeliver",
    operation_id="webhook_deliveries_redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryRead,
    responses={
        **_ADMIN,
        404: {"description": "No such delivery in this organization (`not_found`)"},
        **_DISABLED,
    },
)
async def redeliver(
    session: SessionDep, principal: Admin, delivery_id: uuid.UUID
) -> WebhookDeliveryRead:
    return _delivery(await service.redeliver(session, principal, delivery_id, utc_now()))


# --- OpenAPI ``webhooks``: what receivers get ---------------------------------------------------


def _receiver(model: type[Any]) -> Any:
    async def receive(body: Any) -> None:  # documentation only: never routed
        return None

    receive.__annotations__ = {"body": model, "return": None}
    return receive


def install_webhook_docs(app: FastAPI) -> None:
    """One OpenAPI 3.1 ``webhooks`` entry per event type an endpoint can receive (and ``ping``),
    its body the ``{type, timestamp, data}`` envelope around the catalog's payload model."""
    for event_type in (*WEBHOOK_EVENT_TYPES, EventType.ping):
        app.webhooks.add_api_route(
            event_type.value,
            _receiver(envelope_model(event_type)),
            methods=["POST"],
            operation_id=f"webhook_{event_type.value.replace('.', '_')}",
            summary=f"`{event_type.value}`",
            description=(
                "Sent with the Standard Webhooks headers `webhook-id` (the event id, the same on "
                "every retry), `webhook-timestamp` and `webhook-signature`. Answer 2xx within 15 s."
            ),
            status_code=status.HTTP_204_NO_CONTENT,
            response_class=Response,
            tags=["webhooks"],
        )
