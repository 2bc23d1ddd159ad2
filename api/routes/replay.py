"""Auditor replay: a customer's state as of any moment, rebuilt from the events."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import schemas
from api.auth import ServicesDep, allowed
from api.read_your_writes import AfterPosition, wait_for_event_store
from crypto_shredding import Erased
from domain import Actor, Customer
from domain.customer import PERSONAL_FIELDS

router = APIRouter(prefix="/v1/customers", tags=["replay"])
Replayer = Annotated[Actor, Depends(allowed("customers:replay"))]
DSR_PURPOSE = "data-subject-request"


@router.get("/{customer_id}/replay", response_model=schemas.ReplayedCustomer)
def replay_customer(
    customer_id: UUID,
    actor: Replayer,
    services: ServicesDep,
    as_of: Annotated[datetime, Query(description="ISO time, e.g. 2026-12-01T00:00Z")],
    after_position: AfterPosition = None,
) -> Any:
    """The customer at `as_of`: personal fields for the dpo only, and recorded."""
    wait_for_event_store(services, after_position)
    customer = services.crm.customer_as_of(customer_id, as_of)
    personal = None
    if actor.role == "dpo":
        present = [f for f in PERSONAL_FIELDS if getattr(customer, f) is not None]
        services.crm.record_personal_data_read(actor, customer_id, DSR_PURPOSE, present)
        personal = schemas.PersonalFields(
            **{f: _plain(getattr(customer, f)) for f in PERSONAL_FIELDS}
        )
    return replayed(customer, as_of, personal)


def replayed(
    customer: Customer, as_of: datetime, personal: schemas.PersonalFields | None
) -> schemas.ReplayedCustomer:
    return schemas.ReplayedCustomer(
        id=customer.id,
        as_of=as_of,
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
