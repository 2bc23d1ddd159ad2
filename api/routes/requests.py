"""Data subject requests for the data protection officer: intake, clocks,
verification, acknowledgment, one extension, fulfilment or a refusal."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api import erasure, privacy, schemas
from api import privacy_schemas as ps
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.read_your_writes import CaughtUp
from api.wiring import Services
from domain import Actor
from domain.privacy_office import RequestIntake
from domain.subject_requests import SubjectRequest
from domain.working_days import vietnam_date

router = APIRouter(prefix="/v1/dpo", tags=["data subject requests"])
Officer = Annotated[Actor, Depends(allowed("requests:manage"))]
Format = Annotated[Literal["json", "html"], Query(description="json or html")]


@router.post("/requests", status_code=201, response_model=schemas.Written)
def receive_request(
    body: ps.SubjectRequestIntake, actor: Officer, services: ServicesDep
) -> Any:
    """Records a request received by letter, e-mail, phone or in person."""
    intake = RequestIntake(
        kind=body.kind,
        requester_name=body.requester_name,
        requester_contact=body.requester_contact,
        customer_id=body.customer_id,
        purpose_codes=body.purpose_codes,
        processors_involved=body.processors_involved,
        details=body.details,
    )
    return privacy.privacy_office(services).receive_request(actor, intake)


@router.get("/requests", response_model=list[ps.SubjectRequestView])
def list_requests(
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    status: Annotated[Literal["open", "all"], Query()] = "open",
) -> Any:
    office = privacy.privacy_office(services)
    today = _today()
    return [_view(r, today) for r in office.requests() if status == "all" or r.is_open]


@router.get("/requests/overdue", response_model=list[ps.SubjectRequestView])
def overdue_requests(actor: Officer, services: ServicesDep, caught_up: CaughtUp) -> Any:
    """Open requests past their acknowledgment or execution deadline."""
    today = _today()
    return [_view(r, today) for r in privacy.privacy_office(services).overdue(today)]


@router.get("/requests/due-soon", response_model=list[ps.SubjectRequestView])
def requests_due_soon(
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    within_days: Annotated[int, Query(ge=0, le=60)] = 3,
) -> Any:
    """Open requests whose next deadline falls within `within_days`, soonest first."""
    today = _today()
    office = privacy.privacy_office(services)
    return [_view(r, today) for r in office.due_soon(today, within_days)]


@router.get("/requests/{request_id}", response_model=ps.SubjectRequestDetail)
def get_request(
    request_id: UUID, actor: Officer, services: ServicesDep, caught_up: CaughtUp
) -> Any:
    request = privacy.privacy_office(services).request(request_id)
    return ps.SubjectRequestDetail(
        **_view(request, _today()).model_dump(),
        requester_name=privacy.plain_text(request.requester_name),
        requester_contact=privacy.plain_text(request.requester_contact),
        details=privacy.plain_text(request.details),
    )


@router.post(
    "/requests/{request_id}/identity-verification", response_model=schemas.Written
)
def verify_identity(
    request_id: UUID,
    body: ps.IdentityVerification,
    actor: Officer,
    services: ServicesDep,
) -> Any:
    office = privacy.privacy_office(services)
    return office.verify_identity(actor, request_id, body.customer_id, body.method)


@router.post("/requests/{request_id}/acknowledgment", response_model=schemas.Written)
def acknowledge(
    request_id: UUID, body: ps.Acknowledgment, actor: Officer, services: ServicesDep
) -> Any:
    office = privacy.privacy_office(services)
    return office.acknowledge(actor, request_id, body.channel)


@router.post("/requests/{request_id}/extension", response_model=schemas.Written)
def extend(
    request_id: UUID, body: ps.Extension, actor: Officer, services: ServicesDep
) -> Any:
    office = privacy.privacy_office(services)
    return office.extend(actor, request_id, body.reason, body.days)


@router.post("/requests/{request_id}/refusal", response_model=schemas.Written)
def refuse(
    request_id: UUID, body: ps.Refusal, actor: Officer, services: ServicesDep
) -> Any:
    """Closes the request with the legal ground that requires keeping the data."""
    office = privacy.privacy_office(services)
    return office.refuse(actor, request_id, body.legal_ground, body.told_via)


@router.post("/requests/{request_id}/fulfilment", response_model=ps.FulfilmentResult)
def fulfil(
    request_id: UUID, body: ps.Fulfilment, actor: Officer, services: ServicesDep
) -> Any:
    """Does what the request asks and records it: restrict, object, withdraw
    consent and rectify change the customer; erase shreds the data key and keeps
    the certificate's ids; access records the package's digest."""
    office = privacy.privacy_office(services)
    request = office.request(request_id)
    if request.kind == "erase":
        outcome = _erase(services, actor, request, body.ground)
    elif request.kind == "access":
        package = privacy.access_package(services, actor, request.check_verified())
        outcome = {"package_sha256": privacy.package_digest(package)}
    else:
        written = office.fulfil_on_customer(actor, request_id, body.corrections)
        outcome = office.request(request_id).outcome or {}
        return ps.FulfilmentResult(
            id=written.id, position=written.position, outcome=outcome
        )
    written = office.record_fulfilment(actor, request_id, outcome)
    return ps.FulfilmentResult(
        id=written.id, position=written.position, outcome=outcome
    )


@router.get("/requests/{request_id}/access-package", response_model=None)
def access_package(
    request_id: UUID,
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    format: Format = "json",
) -> Any:
    """DSR-ACCESS: the subject's package, as JSON or as a readable HTML document."""
    request = privacy.privacy_office(services).request(request_id)
    if request.kind != "access":
        raise ApiError(
            409, "wrong_request_kind", "only an access request has an access package"
        )
    package = privacy.access_package(services, actor, request.check_verified())
    if format == "html":
        return HTMLResponse(privacy.render_html("Access package", package))
    return package


@router.get(
    "/customers/{customer_id}/consents/{purpose_code}/record", response_model=None
)
def consent_record(
    customer_id: UUID,
    purpose_code: str,
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    format: Format = "json",
) -> Any:
    """CONSENT-PROOF: the consent's record for print, proved against the ledger."""
    record = privacy.consent_record(services, actor, customer_id, purpose_code)
    if format == "html":
        return HTMLResponse(privacy.render_html("Consent record", record))
    return record


@router.post(
    "/customers/{customer_id}/restriction-lift", response_model=schemas.Written
)
def lift_restriction(
    customer_id: UUID, body: ps.RestrictionLift, actor: Officer, services: ServicesDep
) -> Any:
    office = privacy.privacy_office(services)
    return office.lift_restriction(actor, customer_id, body.reason)


@router.get("/suppression-list", response_model=list[ps.Suppressed])
def suppression_list(
    actor: Annotated[Actor, Depends(allowed("suppression:read"))],
    services: ServicesDep,
    caught_up: CaughtUp,
    purpose: Annotated[str | None, Query(description="only those for it")] = None,
) -> Any:
    """DSR-OBJECT: whom not to contact (for a purpose): objections and
    restrictions in force. Ids only; filter contact lists against it."""
    listed = privacy.suppression_list(services)
    return [
        ps.Suppressed(customer_id=customer_id, **entry)
        for customer_id, entry in sorted(listed.items(), key=lambda i: str(i[0]))
        if purpose is None
        or entry["restricted"]
        or purpose in entry["objected_purposes"]
    ]


def _erase(
    services: Services, actor: Actor, request: SubjectRequest, ground: str | None
) -> dict[str, Any]:
    customer_id = request.check_verified()
    reason = ground or f"data subject request {request.id}"
    certificate = erasure.erase_customer(services, actor, customer_id, reason)
    return {
        "erasure_certificate": {
            "data_key_id": certificate["data_key_id"],
            "shredded_position": certificate["shredded"]["position"],
        }
    }


def _today() -> date:
    return vietnam_date(datetime.now(UTC))


def _view(request: SubjectRequest, today: date) -> ps.SubjectRequestView:
    return ps.SubjectRequestView(
        id=request.id,
        kind=request.kind,
        channel=request.channel,
        status=request.status,
        customer_id=UUID(request.customer_id) if request.customer_id else None,
        purpose_codes=request.purpose_codes,
        processors_involved=request.processors_involved,
        received_on=request.received_on,
        acknowledge_due=request.acknowledge_due,
        execute_due=request.execute_due,
        next_due=request.next_due().isoformat(),
        overdue=request.is_overdue(today),
        calendar=request.calendar,
        acknowledged_at=request.acknowledged_at,  # type: ignore[arg-type]
        verification_method=request.verification_method,
        extension=request.extension,
        outcome=request.outcome,
        refusal=request.refusal,
        closed_at=request.closed_at,  # type: ignore[arg-type]
    )
