"""Customers: registration, consents, contact details, purpose-bound reads, erasure."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import erasure, privacy, schemas
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.paging import decode_cursor, encode_cursor, only_parameters
from api.read_your_writes import AfterPosition, wait_for_read_side
from api.roles import may
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
from projections import CustomerFilter, CustomerRow, PageMark
from projections.customers_by_id import sort_value

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Writer = Annotated[Actor, Depends(allowed("customers:write"))]
Lister = Annotated[Actor, Depends(allowed("customers:list"))]
PersonalReader = Annotated[Actor, Depends(allowed("customers:read-personal"))]
Eraser = Annotated[Actor, Depends(allowed("customers:erase"))]
DSR_PURPOSE = "data-subject-request"
LIST_PARAMETERS = (*schemas.CustomerQuery.model_fields, "after_position")


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
        CustomerProfile(
            body.stage, body.owner, body.tags, body.jurisdiction, body.province
        ),
        consents=[ConsentCapture(**c.model_dump()) for c in body.consents],
        agreements=[AgreementCapture(**a.model_dump()) for a in body.agreements],
    )


@router.get("", response_model=schemas.CustomerPage)
def list_customers(
    actor: Lister,
    checked: Annotated[None, Depends(only_parameters(*LIST_PARAMETERS))],
    services: ServicesDep,
    query: Annotated[schemas.CustomerQuery, Query()],
    after_position: AfterPosition = None,
) -> Any:
    """Customers' non-personal fields, filtered, sorted and paged by cursor."""
    wait_for_read_side(services, after_position)
    rows, next_cursor = customer_page(services, query)
    return schemas.CustomerPage(
        customers=[summary(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/{customer_id}", response_model=schemas.CustomerView)
def get_customer(
    customer_id: UUID,
    actor: PersonalReader,
    services: ServicesDep,
    purpose: Annotated[str, Query(description="the purpose this read serves")],
    after_position: AfterPosition = None,
) -> Any:
    row = readable_customer(services, customer_id, purpose, after_position, actor)
    present = [field for field, sealed in row.sealed.items() if sealed is not None]
    services.read_log.record(actor, customer_id, purpose, present)
    opened = {
        field: open_sealed(services, sealed) for field, sealed in row.sealed.items()
    }

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
    if body.province is not None:
        written = services.crm.change_province(actor, customer_id, body.province)
    if written is None:
        raise ApiError(
            422, "invalid_request", "send a new stage, owner or province, or several"
        )
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
    wait_for_read_side(services, after_position, services.erasure_runner)
    return erasure.erasure_certificate(services, customer_id)


def customer_page(
    services: Services, query: schemas.CustomerQuery
) -> tuple[list[CustomerRow], str | None]:
    """One page of the customers matching `query`, and the cursor of the next."""
    if query.consent_state is not None and query.consent_purpose is None:
        raise ApiError(
            422,
            "invalid_request",
            "consent_state needs consent_purpose: name the purpose whose consent "
            "state to filter by, e.g. consent_purpose=marketing-email",
        )
    if query.consent_purpose is not None:
        services.crm.purpose(query.consent_purpose)  # 404 names an unknown code
    where = CustomerFilter(
        stage=query.stage,
        owner=query.owner,
        tag=query.tag,
        jurisdiction=query.jurisdiction,
        province=query.province,
        consent_purpose=query.consent_purpose,
        consent_state=query.consent_state or "given",
    )
    rows = services.customers.customers(
        services.read_models,
        limit=query.limit + 1,
        where=where,
        sort=query.sort,
        after=decode_cursor(query.cursor, query.sort),
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    if not more:
        return page, None
    last = page[-1]
    mark = PageMark(sort_value(last, query.sort), last.customer_id)
    return page, encode_cursor(query.sort, mark)


def readable_customer(
    services: Services,
    customer_id: UUID,
    purpose: str,
    after_position: int | None,
    actor: Actor,
) -> CustomerRow:
    """PURPOSE-LIMITATION: the customer, if `actor` may read them for `purpose`."""
    wait_for_read_side(services, after_position)
    row = services.customers.customer(services.read_models, customer_id)
    if row is None or row.erased:
        raise CustomerNotFoundError
    check_read_for_purpose(services, actor, row, purpose)
    return row


def check_read_for_purpose(
    services: Services, actor: Actor, row: CustomerRow, purpose: str
) -> None:
    """A basis for `purpose` holds now, and sensitive purposes get the stricter role.

    The dpo may read any customer for a data-subject request: the law obliges the
    firm to answer one, whatever the customer consented to.
    """
    if purpose == DSR_PURPOSE and actor.role == "dpo":
        return
    check_purpose_open(services, actor, purpose)
    # The basis, an erasure under way, restrictions and objections: decided on the
    # customer's events rather than `row`, so that a withdrawal holds at once.
    privacy.privacy_office(services).check_processing_allowed(row.customer_id, purpose)


def check_purpose_open(services: Services, actor: Actor, purpose: str) -> None:
    """The purpose exists and is active, and `actor` may read its data categories
    (SENSITIVE-DATA: a sensitive category needs customers:read-sensitive)."""
    if purpose == DSR_PURPOSE:
        raise ApiError(
            403,
            "no_basis_for_purpose",
            f"only the data protection officer reads for {DSR_PURPOSE!r}; name a "
            "purpose the customer agreed to",
        )
    found = services.crm.purpose(purpose)
    if found.retired:
        raise ApiError(
            403,
            "no_basis_for_purpose",
            f"purpose {purpose!r} is retired: no basis for it holds any more",
        )
    sensitive = any(c["sensitivity"] == "sensitive" for c in found.data_categories)
    if sensitive and not may(actor.role, "customers:read-sensitive"):
        raise ApiError(
            403,
            "sensitive_purpose",
            f"purpose {purpose!r} covers sensitive data, which role {actor.role!r} "
            "may not read; ask the data protection officer",
        )


def summary(row: CustomerRow) -> schemas.CustomerSummary:
    return schemas.CustomerSummary(
        id=row.customer_id,
        stage=row.stage,
        owner=row.owner,
        tags=row.tags,
        jurisdiction=row.jurisdiction,
        province=row.province,
        consents=row.consents,  # type: ignore[arg-type]
        agreements=row.agreements,
        registered_at=row.registered_at,
        updated_at=row.updated_at,
    )


def open_sealed(services: Services, sealed: SealedValue | None) -> str | None:
    """The plaintext, or None when absent or erased."""
    if sealed is None:
        return None
    value = services.crm.mapper.open_sealed(sealed)  # type: ignore[attr-defined]
    return value if isinstance(value, str) else None
