"""Auditor replay: a customer's state as of any moment, rebuilt from the events."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.read_your_writes import (
    AfterPosition,
    wait_for_event_store,
    wait_for_read_side,
)
from api.routes.customers import DSR_PURPOSE
from api.wiring import Services
from crypto_shredding import Erased
from domain import Actor, Customer
from domain.customer import PERSONAL_FIELDS

router = APIRouter(prefix="/v1/customers", tags=["replay"])
Replayer = Annotated[Actor, Depends(allowed("customers:replay"))]


@router.get("/{customer_id}/replay", response_model=schemas.ReplayedCustomer)
def replay_customer(
    customer_id: UUID,
    actor: Replayer,
    services: ServicesDep,
    as_of: Annotated[
        datetime | None, Query(description="ISO time, e.g. 2026-12-01T00:00Z")
    ] = None,
    as_of_position: Annotated[
        int | None,
        Query(ge=1, description="a notification position (ledger position) instead"),
    ] = None,
    after_position: AfterPosition = None,
) -> Any:
    """The customer at `as_of` or at `as_of_position`: personal fields for the dpo
    only, and recorded."""
    wait_for_event_store(services, after_position)
    customer, moment = customer_then(services, customer_id, as_of, as_of_position)
    personal = None
    if actor.role == "dpo":
        present = [f for f in PERSONAL_FIELDS if getattr(customer, f) is not None]
        services.read_log.record(actor, customer_id, DSR_PURPOSE, present)
        personal = schemas.PersonalFields(
            **{f: _plain(getattr(customer, f)) for f in PERSONAL_FIELDS}
        )
    return replayed(customer, moment, personal, as_of_position)


def customer_then(
    services: Services,
    customer_id: UUID,
    as_of: datetime | None,
    as_of_position: int | None,
) -> tuple[Customer, datetime]:
    """The customer replayed to a moment, or to a notification position; the
    position is found on the customer's timeline, which must have reached it."""
    if (as_of is None) == (as_of_position is None):
        raise ApiError(
            422,
            "invalid_request",
            "give exactly one of as_of (an ISO time such as 2026-12-01T00:00Z) and "
            "as_of_position (a notification position, as commands return)",
        )
    if as_of is not None:
        return services.crm.customer_as_of(customer_id, as_of), as_of
    assert as_of_position is not None
    wait_for_read_side(services, as_of_position, services.timeline_runner)
    version, moment = services.timelines.version_at(
        services.read_models, customer_id, as_of_position
    )
    customer = services.crm.customer_at_version(customer_id, version)
    assert moment is not None, "a customer with a version has a recorded event"
    return customer, moment


def replayed(
    customer: Customer,
    as_of: datetime,
    personal: schemas.PersonalFields | None,
    as_of_position: int | None = None,
) -> schemas.ReplayedCustomer:
    return schemas.ReplayedCustomer(
        id=customer.id,
        as_of=as_of,
        as_of_position=as_of_position,
        version=customer.version,
        stage=customer.stage,
        owner=customer.owner,
        tags=customer.tags,
        jurisdiction=customer.jurisdiction,
        consents=customer.consents,  # type: ignore[arg-type]
        agreements=customer.agreements,
        erasure_requested=customer.erasure_requested,
        erased=customer.erased,
        personal=personal,
    )


def _plain(value: object) -> str | None:
    return None if value is None or isinstance(value, Erased) else str(value)
