from fastapi import APIRouter, status

from backend.auth.dependencies import Admin, AnyUser
from backend.forms import service
from backend.forms.schemas import CustomerTypeCreate, CustomerTypeRead
from backend.kit.deps import SessionDep

router = APIRouter(prefix="/api/v1/customer-types", tags=["customer types"])


@router.get("", operation_id="customer_types_list", response_model=list[CustomerTypeRead])
async def list_customer_types(session: SessionDep, principal: AnyUser) -> list[CustomerTypeRead]:
    types = await service.list_customer_types(session, principal.org_id)
    return [CustomerTypeRead.model_validate(t) for t in types]


@router.post(
    "",
    operation_id="customer_types_create",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerTypeRead,
)
async def create_customer_type(
    session: SessionDep, principal: Admin, body: CustomerTypeCreate
) -> CustomerTypeRead:
    created = await service.create_customer_type(session, principal.org_id, body, principal.user_id)
    return CustomerTypeRead.model_validate(created)
