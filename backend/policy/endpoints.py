from fastapi import APIRouter

from backend.auth.dependencies import AnyUser, SettingsDep
from backend.kit.time import utc_now
from backend.policy import service
from backend.policy.schemas import ClientPolicy

router = APIRouter(prefix="/api/v1", tags=["config"])


@router.get(
    "/config",
    operation_id="config_get",
    summary="The rules the PWA applies on the phone",
    response_model=ClientPolicy,
)
async def get_config(settings: SettingsDep, principal: AnyUser) -> ClientPolicy:
    """The next-action horizon and types (with their labels), the photo kinds and limits, what
    submit needs, how long a visit may stay open, the time zone and default language: what a
    client must agree with, so that it refuses on the phone what the server would refuse."""
    return service.client_policy(settings, utc_now())
