"""Customers: registration, consents, contact details, purpose-bound reads, erasure."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import erasure, schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.read_your_writes import AfterPosition, wait_for_read_side
from api.wiring import Services
from crypto_shredding import SealedValue
from domain import (
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
)
from domain.errors import CustomerNotFoundError
from projections import CustomerRow

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Writer = Annotated[Actor, Depends(allowed("customers:write"))]
Lister = Annotated[Actor, Depends(allowed("customers:list"))]
PersonalReader = Annotated[Actor, Depends(allowed("customers:read-personal"))]
Eraser = Annotated[Actor, Depends(allowed("customers:erase"))]


@router.post("", status_code=201, response_model=schemas.Written)
def register_customer(
    body: schemas.Registration, actor: Writer, services: ServicesDep
) -> Any:
    return services.crm.register_customer(
        actor,
        PersonalDetails(
            body.full_name,
            body.phone,
            body.email,
            body.postal_address,
            body.date_of_birth,
        ),
        CustomerProfile(body.stage, body.owner, body.tags, body.jurisdiction),
        consents=[ConsentCapture(**c.model_dump()) for c in body.consents],
        agreements=[AgreementCapture(**a.model_dump()) for a in body.agreements],
    )


@router.get("", response_model=schemas.CustomerPage)
def list_customers(
    actor: Lister,
    services: ServicesDep,
    stage: str | None = None,
    after: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after_position: AfterPosition = None,
) -> Any:
    wait_for_read_side(services, after_position)
    rows = services.customers.customers(
        services.read_models, limit=limit + 1, after=after, stage=stage
    )
    page = [summary(row) for row in rows[:limit]]
    next_after = page[-1].id if len(rows) > limit else None
    return schemas.CustomerPage(customers=page, next_after=next_after)


@router.get("/{customer_id}", response_model=schemas.CustomerView)
def get_customer(
    customer_id: UUID,
    actor: PersonalReader,
    services: ServicesDep,
    purpose: Annotated[str, Query(description="the purpose this read serves")],
    after_position: AfterPosition = None,
) -> Any:
    row = readable_customer(services, customer_id, purpose, after_position)
    present = [field for field, sealed in row.sealed.items() if sealed is not None]
    services.crm.record_personal_data_read(actor, customer_id, purpose, present)
    opened = {field: _open(services, sealed) for field, sealed in row.sealed.items()}

    return schemas.CustomerView(
        **summary(row).model_dump(),
        purpose=purpose,
        personal=schemas.PersonalFields(**opened),
    )


@router.patch("/{customer_id}/contact-details", response_model=schemas.Written)
def change_contact_details(
    customer_id: UUID,
    body: schemas.ContactDetails,
    actor: Writer,
    services: ServicesDep,
) -> Any:
    return services.crm.change_contact_details(
        actor, customer_id, body.phone, body.email, body.postal_address
    )


@router.patch("/{customer_id}/profile", response_model=schemas.Written)
def change_profile(
    customer_id: UUID, body: schemas.ProfileChange, actor: Writer, services: ServicesDep
) -> Any:
    written = None
    if body.stage is not None:
        written = services.crm.change_stage(actor, customer_id, body.stage)
    if body.owner is not None:
        written = services.crm.assign_owner(actor, customer_id, body.owner)
    if written is None:
        raise ApiError(422, "invalid_request", "send a new stage, a new owner or both")
    return written


@router.post("/{customer_id}/consents", status_code=201, response_model=schemas.Written)
def give_consent(
    customer_id: UUID, body: schemas.Consent, actor: Writer, services: ServicesDep
) -> Any:
    consent = ConsentCapture(**body.model_dump())
    return services.crm.give_consent(actor, customer_id, consent)


@router.post(
    "/{customer_id}/consents/{purpose_code}/withdrawal", response_model=schemas.Written
)
def withdraw_consent(
    customer_id: UUID,
    purpose_code: str,
    body: schemas.Withdrawal,
    actor: Writer,
    services: ServicesDep,
) -> Any:
    return services.crm.withdraw_consent(actor, customer_id, purpose_code, body.channel)


@router.post(
    "/{customer_id}/agreements", status_code=201, response_model=schemas.Written
)
def record_agreement(
    customer_id: UUID, body: schemas.Agreement, actor: Writer, services: ServicesDep
) -> Any:
    agreement = AgreementCapture(**body.model_dump())
    return services.crm.record_agreement(actor, customer_id, agreement)


@router.post("/{customer_id}/erasure", response_model=schemas.ErasureCertificate)
def erase_customer(
    customer_id: UUID,
    body: schemas.ErasureRequest,
    actor: Eraser,
    services: ServicesDep,
) -> Any:
    """DSR-ERASE: shreds the customer's data key; answers the erasure certificate."""
    return erasure.erase_customer(services, actor, customer_id, body.ground)


@router.get(
    "/{customer_id}/erasure-certificate", response_model=schemas.ErasureCertificate
)
def erasure_certificate(
    customer_id: UUID,
    actor: Eraser,
    services: ServicesDep,
    after_position: AfterPosition = None,
) -> Any:
    """The certificate of a completed erasure, with its ledger proof once signed."""
    wait_for_read_side(services, after_position)
    return erasure.erasure_certificate(services, customer_id)


def readable_customer(
    services: Services, customer_id: UUID, purpose: str, after_position: int | None
) -> CustomerRow:
    """PURPOSE-LIMITATION: the customer, if a basis for `purpose` holds right now."""
    wait_for_read_side(services, after_position)
    row = services.customers.customer(services.read_models, customer_id)
    if row is None or row.erased:
        raise CustomerNotFoundError
    if services.crm.purpose(purpose).retired or not row.has_basis_for(purpose):
        raise ApiError(
            403,
            "no_basis_for_purpose",
            f"no consent or agreement of this customer covers purpose {purpose!r}; "
            "read only for a purpose the customer agreed to",
        )
    return row


def summary(row: CustomerRow) -> schemas.CustomerSummary:
    return schemas.CustomerSummary(
        id=row.customer_id,
        stage=row.stage,
        owner=row.owner,
        tags=row.tags,
        jurisdiction=row.jurisdiction,
        consents=row.consents,  # type: ignore[arg-type]
        agreements=row.agreements,
        registered_at=row.registered_at,
        updated_at=row.updated_at,
    )


def _open(services: Services, sealed: SealedValue | None) -> str | None:
    if sealed is None:
        return None
    value = services.crm.mapper.open_sealed(sealed)  # type: ignore[attr-defined]
    return value if isinstance(value, str) else None
