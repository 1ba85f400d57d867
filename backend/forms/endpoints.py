from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.auth.dependencies import Admin, AnyUser
from backend.forms import service
from backend.forms.schemas import (
    CustomerTypeCreate,
    CustomerTypeRead,
    VisitFormRead,
    VisitFormUpdate,
)
from backend.kit.deps import SessionDep

router = APIRouter(prefix="/api/v1/customer-types", tags=["customer types"])

FormVersionNumber = Annotated[
    int | None,
    Query(ge=1, le=2_147_483_647, description="A version number; the current version if left out."),
]


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


@router.get(
    "/{key}/visit-form",
    operation_id="customer_types_visit_form_get",
    response_model=VisitFormRead,
    responses={404: {"description": "No such customer type or version in your organization."}},
)
async def get_visit_form(
    session: SessionDep, principal: AnyUser, key: str, version: FormVersionNumber = None
) -> VisitFormRead:
    """A version of the customer type's visit form: the current one unless `version` is given."""
    if version is None:
        form = await service.current_form(session, principal.org_id, key)
    else:
        form = await service.form_version(session, principal.org_id, key, version)
    return form.definition


@router.put(
    "/{key}/visit-form",
    operation_id="customer_types_visit_form_publish",
    response_model=VisitFormRead,
    responses={
        404: {"description": "No such customer type in your organization."},
        409: {"description": "`version` was given and is no longer the current version."},
    },
)
async def publish_visit_form(
    session: SessionDep, principal: Admin, key: str, body: VisitFormUpdate
) -> VisitFormRead:
    """Publish the fields as the next version of the form (200 with the version now current).

    Earlier versions stay: visits keep the version they began with. Fields identical to the
    current version publish nothing and return the current version, so a retry is harmless.
    """
    form = await service.publish_form(session, principal.org_id, key, body, principal.user_id)
    return form.definition
