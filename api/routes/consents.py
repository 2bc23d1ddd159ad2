"""Effective consent per customer and purpose, with its history, and the customers
that may be contacted for a purpose right now."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api import privacy, schemas
from api.auth import ServicesDep, allowed
from api.paging import decode_cursor, encode_cursor, only_parameters
from api.read_your_writes import AfterPosition, wait_for_read_side
from api.wiring import Services
from domain import Actor
from domain.errors import CustomerNotFoundError
from projections import ConsentChange, PageMark

router = APIRouter(tags=["consents"])
Reader = Annotated[Actor, Depends(allowed("consents:read"))]
Campaigner = Annotated[Actor, Depends(allowed("consents:contactable"))]
# Auditors and the dpo see the consent record of an erased customer: it is the
# firm's proof of what it did, and holds no personal values.
SEES_ERASED = ("auditor", "dpo")


@router.get(
    "/v1/customers/{customer_id}/consents", response_model=schemas.CustomerConsents
)
def customer_consents(
    customer_id: UUID,
    actor: Reader,
    checked: Annotated[None, Depends(only_parameters("after_position"))],
    services: ServicesDep,
    after_position: AfterPosition = None,
) -> Any:
    """CONSENT-PROOF: each purpose's effective basis and every change to it: notice
    version and hash, when, channel, who captured it, evidence reference."""
    wait_for_read_side(
        services, after_position, services.runner, services.consent_runner
    )
    check_customer_visible(services, customer_id, actor)
    consents = services.consents.consents_of(services.read_models, customer_id)
    return schemas.CustomerConsents(
        customer_id=customer_id,
        purposes=[
            schemas.EffectiveConsentView(
                purpose_code=code,
                state=consent.state,
                live=consent.live,
                since=consent.last_change.at,
                history=[_change(c) for c in consent.history],
            )
            for code, consent in consents.items()
        ],
    )


@router.get(
    "/v1/purposes/{code}/contactable-customers",
    response_model=schemas.ContactableCustomers,
)
def contactable_customers(
    code: str,
    actor: Campaigner,
    checked: Annotated[
        None, Depends(only_parameters("cursor", "limit", "after_position"))
    ],
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=2_000)] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    after_position: AfterPosition = None,
) -> Any:
    """Ids of the customers whose consent or agreement covers the purpose right now
    (CONSENT-WITHDRAW: a withdrawal removes the customer at once)."""
    wait_for_read_side(services, after_position, services.consent_runner)
    if services.crm.purpose(code).retired:
        return schemas.ContactableCustomers(
            purpose_code=code, customer_ids=[], next_cursor=None
        )
    mark = decode_cursor(cursor, "id")
    found = services.consents.contactable(
        services.read_models,
        code,
        limit=limit + 1,
        after=mark.customer_id if mark else None,
    )
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        next_cursor = encode_cursor("id", PageMark(page[-1].hex, page[-1]))
    # DSR-RESTRICT, DSR-OBJECT: whoever restricted or objected is not contacted.
    allowed_ids = [c for c in page if privacy.may_process(services, c, code)]
    return schemas.ContactableCustomers(
        purpose_code=code, customer_ids=allowed_ids, next_cursor=next_cursor
    )


def check_customer_visible(services: Services, customer_id: UUID, actor: Actor) -> None:
    """404 for an unknown customer, and for an erased one unless the role audits."""
    row = services.customers.customer(services.read_models, customer_id)
    if row is None or (row.erased and actor.role not in SEES_ERASED):
        raise CustomerNotFoundError


def _change(change: ConsentChange) -> schemas.ConsentChangeView:
    return schemas.ConsentChangeView(
        change=change.change,
        notice_version=change.notice_version,
        notice_sha256=change.notice_sha256,
        channel=change.channel,
        evidence_ref=change.evidence_ref,
        agreement_ref=change.agreement_ref,
        actor=change.actor,
        at=change.at,
        position=change.position,
    )
