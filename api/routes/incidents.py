"""The privacy office's registers: complaints and breach incidents, and the
record of reads that sizes a breach."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api import privacy, schemas
from api import privacy_schemas as ps
from api.auth import ServicesDep, allowed
from api.errors import ApiError
from api.read_your_writes import CaughtUp
from api.wiring import Services
from domain import Actor
from domain.incidents import BREACH_FORM_FIELDS, BreachIncident, Complaint
from domain.working_days import vietnam_date

router = APIRouter(prefix="/v1/dpo", tags=["complaints and incidents"])
Officer = Annotated[Actor, Depends(allowed("incidents:manage"))]


@router.post("/complaints", status_code=201, response_model=schemas.Written)
def lodge_complaint(
    body: ps.ComplaintIntake, actor: Officer, services: ServicesDep
) -> Any:
    """COMPLAINT: a complaint, linked to a customer, a request or an incident."""
    return privacy.privacy_office(services).lodge_complaint(
        actor,
        (body.complainant_name, body.complainant_contact),
        body.summary,
        {
            "customer_id": body.customer_id,
            "request_id": body.request_id,
            "incident_id": body.incident_id,
        },
        owner=body.owner,
        due_on=body.due_on,
    )


@router.get("/complaints", response_model=list[ps.ComplaintView])
def list_complaints(
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    status: Annotated[Literal["open", "all"], Query()] = "open",
) -> Any:
    complaints = privacy.privacy_office(services).complaints()
    return [_complaint(c) for c in complaints if status == "all" or not c.closed_at]


@router.get("/complaints/{complaint_id}", response_model=ps.ComplaintView)
def get_complaint(
    complaint_id: UUID, actor: Officer, services: ServicesDep, caught_up: CaughtUp
) -> Any:
    return _complaint(privacy.privacy_office(services).complaint(complaint_id))


@router.post("/complaints/{complaint_id}/assignment", response_model=schemas.Written)
def assign_complaint(
    complaint_id: UUID,
    body: ps.ComplaintAssignment,
    actor: Officer,
    services: ServicesDep,
) -> Any:
    office = privacy.privacy_office(services)
    return office.assign_complaint(actor, complaint_id, body.owner, body.due_on)


@router.post("/complaints/{complaint_id}/closure", response_model=schemas.Written)
def close_complaint(
    complaint_id: UUID,
    body: ps.ComplaintClosure,
    actor: Officer,
    services: ServicesDep,
) -> Any:
    office = privacy.privacy_office(services)
    return office.close_complaint(actor, complaint_id, body.resolution)


@router.post("/incidents", status_code=201, response_model=schemas.Written)
def register_incident(
    body: ps.IncidentRegistration, actor: Officer, services: ServicesDep
) -> Any:
    """BREACH-NOTIFY: the 72-hour clock runs from `discovered_at`."""
    office = privacy.privacy_office(services)
    given = body.form or ps.BreachForm.model_validate({})
    form = given.model_dump(mode="json", exclude_none=True)
    return office.register_incident(actor, body.discovered_at, form)


@router.get("/incidents", response_model=list[ps.IncidentView])
def list_incidents(actor: Officer, services: ServicesDep, caught_up: CaughtUp) -> Any:
    return [_incident(i) for i in privacy.privacy_office(services).incidents()]


@router.get("/incidents/{incident_id}", response_model=ps.IncidentView)
def get_incident(
    incident_id: UUID, actor: Officer, services: ServicesDep, caught_up: CaughtUp
) -> Any:
    return _incident(privacy.privacy_office(services).incident(incident_id))


@router.post("/incidents/{incident_id}/form", response_model=schemas.Written)
def complete_breach_form(
    incident_id: UUID, body: ps.BreachForm, actor: Officer, services: ServicesDep
) -> Any:
    """A new version of the notification form; it supersedes the last."""
    office = privacy.privacy_office(services)
    form = body.model_dump(mode="json", exclude_none=True)
    return office.complete_breach_form(actor, incident_id, form)


@router.get("/incidents/{incident_id}/notification", response_class=HTMLResponse)
def notification_form(
    incident_id: UUID, actor: Officer, services: ServicesDep, caught_up: CaughtUp
) -> Any:
    """The notification for the authority, ready to print or copy."""
    view = _incident(privacy.privacy_office(services).incident(incident_id))
    document = {
        "incident_id": str(view.id),
        "discovered_at": view.discovered_at.isoformat(),
        "notify_by": view.notify_by.isoformat(),
        **{f: view.form.get(f) for f in BREACH_FORM_FIELDS},
        "subjects_affected": len(view.subjects_to_notify),
    }
    return HTMLResponse(privacy.render_html("Breach notification", document))


@router.post("/incidents/{incident_id}/scope", response_model=ps.BreachScope)
def record_breach_scope(
    incident_id: UUID, body: ps.ScopeQuery, actor: Officer, services: ServicesDep
) -> Any:
    """Which subjects `reader` read in the window, from the record of reads; the
    scope is recorded on the incident and its subjects join the list to notify."""
    scope = _scope(services, body)
    office = privacy.privacy_office(services)
    counts = {
        s: sum(r.customer_id == s for r in scope.reads) for s in scope.subject_ids
    }
    window = (body.window_start, body.window_end)
    office.record_breach_scope(actor, incident_id, body.reader, window, counts)
    return scope


@router.get("/reads", response_model=ps.BreachScope)
def reads_by(
    actor: Officer,
    services: ServicesDep,
    caught_up: CaughtUp,
    reader: Annotated[str, Query(description="role:token_id, or a token id")],
    window_start: Annotated[datetime, Query()],
    window_end: Annotated[datetime, Query()],
) -> Any:
    """The record of reads by one actor or token in a window, without recording."""
    query = ps.ScopeQuery(
        reader=reader, window_start=window_start, window_end=window_end
    )
    return _scope(services, query)


@router.post(
    "/incidents/{incident_id}/authority-notification", response_model=schemas.Written
)
def record_authority_notified(
    incident_id: UUID,
    body: ps.AuthorityNotification,
    actor: Officer,
    services: ServicesDep,
) -> Any:
    office = privacy.privacy_office(services)
    return office.record_authority_notified(
        actor, incident_id, body.notified_at, body.reference
    )


@router.post("/incidents/{incident_id}/closure", response_model=schemas.Written)
def close_incident(incident_id: UUID, actor: Officer, services: ServicesDep) -> Any:
    return privacy.privacy_office(services).close_incident(actor, incident_id)


def _scope(services: Services, query: ps.ScopeQuery) -> ps.BreachScope:
    if query.window_start.tzinfo is None or query.window_end.tzinfo is None:
        raise ApiError(
            422,
            "invalid_request",
            "give window times with a zone, like 2026-12-01T00:00:00+07:00",
        )
    window = (query.window_start, query.window_end)
    reads = privacy.reads_by(services, query.reader, window)
    subjects = sorted({r.customer_id for r in reads}, key=str)
    return ps.BreachScope(
        reader=query.reader,
        window_start=query.window_start,
        window_end=query.window_end,
        subject_ids=subjects,
        reads=[ps.ReadView(**vars(r)) for r in reads],
    )


def _complaint(complaint: Complaint) -> ps.ComplaintView:
    today = vietnam_date(datetime.now(UTC))
    return ps.ComplaintView(
        id=complaint.id,
        status=complaint.status,
        complainant_name=privacy.plain_text(complaint.complainant_name),
        complainant_contact=privacy.plain_text(complaint.complainant_contact),
        summary=privacy.plain_text(complaint.summary),
        customer_id=_uuid(complaint.customer_id),
        request_id=_uuid(complaint.request_id),
        incident_id=_uuid(complaint.incident_id),
        owner=complaint.owner,
        due_on=complaint.due_on,  # type: ignore[arg-type]
        overdue=not complaint.closed_at and complaint.due_on < today.isoformat(),
        resolution=complaint.resolution,
        closed_at=complaint.closed_at,  # type: ignore[arg-type]
    )


def _incident(incident: BreachIncident) -> ps.IncidentView:
    now = datetime.now(UTC)
    form = incident.form if isinstance(incident.form, str) else "{}"
    subjects = {s for scope in incident.scopes for s in scope["subject_ids"]}
    pending = incident.notified_at is None
    return ps.IncidentView(
        id=incident.id,
        discovered_at=incident.discovered_at,
        notify_by=incident.notify_by,
        hours_left=(incident.notify_by - now).total_seconds() / 3600
        if pending
        else None,
        overdue=incident.is_overdue(now),
        form=json.loads(form),
        scopes=incident.scopes,
        subjects_to_notify=sorted(UUID(s) for s in subjects),
        notified_at=incident.notified_at,
        notification_reference=incident.notification_reference,
        closed_at=incident.closed_at,  # type: ignore[arg-type]
    )


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None
