"""The data protection officer's commands: data subject requests and their clocks,
complaints, breach incidents, and where the stores are."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from domain import validation as valid
from domain.application import CRM, Actor, Written
from domain.customer import (
    CHANNELS,
    PERSONAL_FIELDS,
    Customer,
    check_processing_allowed,
)
from domain.errors import (
    CustomerErasedError,
    InvalidValueError,
    NoBasisForPurposeError,
)
from domain.incidents import (
    BREACH_FORM_FIELDS,
    NOTIFY_WITHIN,
    BreachIncident,
    Complaint,
    RecordNotFoundError,
)
from domain.residency import STORE_REGIONS_ID, STORES, StoreRegions
from domain.subject_requests import (
    ACKNOWLEDGE_WORKING_DAYS,
    DSR_PURPOSE,
    EXECUTION_DAYS,
    INTAKE_CHANNELS,
    KINDS,
    VERIFICATION_METHODS,
    RequestNotFoundError,
    RequestStateError,
    SubjectRequest,
)
from domain.working_days import WorkingDays, vietnam_date

Record = TypeVar("Record")
COMPLAINT_DAYS = 30  # our default time to answer a complaint; set per complaint
# The customer's events that decide, at once, whether their data may be used for
# a purpose: its basis, an erasure under way, restrictions and objections.
USE_TOPICS = frozenset(
    get_topic(c)
    for c in (
        Customer.ConsentGiven,
        Customer.ConsentWithdrawn,
        Customer.AgreementRecorded,
        Customer.ErasureRequested,
        Customer.DataKeyShredded,
        Customer.ProcessingRestricted,
        Customer.RestrictionLifted,
        Customer.ProcessingObjected,
    )
)
PURPOSE_KINDS = ("object", "withdraw-consent")
# A withdrawal made through a request is recorded with the channel it came by.
WITHDRAWAL_CHANNEL = {"public-form": "web-form", "dpo": "email"}


@dataclass(frozen=True)
class RequestIntake:
    """A request as received; the requester's name, contact and words are sealed."""

    kind: str
    requester_name: str
    requester_contact: str
    channel: str = "dpo"
    customer_id: UUID | None = None
    purpose_codes: Sequence[str] = field(default_factory=tuple)
    processors_involved: bool = False
    details: str | None = None


class PrivacyOffice:
    """Requests, complaints, incidents and store regions, each an event stream."""

    def __init__(self, crm: CRM, calendar: WorkingDays | None = None) -> None:
        self.crm = crm
        self.calendar = calendar or WorkingDays.vietnam()

    def receive_request(
        self, actor: Actor, intake: RequestIntake, now: datetime | None = None
    ) -> Written:
        """Records a request with its deadlines: acknowledgment within 2 working
        days in Vietnam, execution within the calendar days of its kind."""
        kind = valid.one_of("kind", intake.kind, KINDS)
        if intake.customer_id is not None:
            self.crm.customer(intake.customer_id)  # a named subject must exist
        purposes = self._purpose_codes(kind, intake.purpose_codes)
        received_on = vietnam_date(now or datetime.now(UTC))
        acknowledge_due = self.calendar.add_working_days(
            received_on, ACKNOWLEDGE_WORKING_DAYS
        )
        days = EXECUTION_DAYS[kind][1 if intake.processors_involved else 0]
        request = SubjectRequest._create(
            SubjectRequest.Received,
            id=uuid.uuid4(),
            kind=kind,
            channel=valid.one_of("channel", intake.channel, INTAKE_CHANNELS),
            customer_id=str(intake.customer_id) if intake.customer_id else None,
            purpose_codes=purposes,
            processors_involved=intake.processors_involved,
            requester_name=valid.text("requester_name", intake.requester_name),
            requester_contact=valid.text("requester_contact", intake.requester_contact),
            details=valid.optional_text("details", intake.details, max_length=5_000),
            received_on=received_on.isoformat(),
            acknowledge_due=acknowledge_due.isoformat(),
            execute_due=(received_on + timedelta(days=days)).isoformat(),
            calendar=self.calendar.calendar_for(received_on, acknowledge_due),
            actor=str(actor),
        )
        return self._save(request)

    def verify_identity(
        self, actor: Actor, request_id: UUID, customer_id: UUID, method: str
    ) -> Written:
        request = self.request(request_id)
        self.crm.customer(customer_id)  # the subject must be known (or erased)
        method = valid.one_of("method", method, VERIFICATION_METHODS)
        request.verify_identity(customer_id, method, str(actor))
        return self._save(request)

    def acknowledge(self, actor: Actor, request_id: UUID, channel: str) -> Written:
        request = self.request(request_id)
        request.acknowledge(valid.one_of("channel", channel, CHANNELS), str(actor))
        return self._save(request)

    def extend(self, actor: Actor, request_id: UUID, reason: str, days: int) -> Written:
        request = self.request(request_id)
        request.extend(valid.text("reason", reason, max_length=1_000), days, str(actor))
        return self._save(request)

    def refuse(
        self, actor: Actor, request_id: UUID, legal_ground: str, told_via: str
    ) -> Written:
        """Closes the request unfulfilled, naming the law that requires it; the
        requester is told through `told_via`."""
        request = self.request(request_id)
        ground = valid.text("legal_ground", legal_ground, max_length=1_000)
        request.refuse(ground, valid.one_of("told_via", told_via, CHANNELS), str(actor))
        return self._save(request)

    def record_fulfilment(
        self, actor: Actor, request_id: UUID, outcome: dict[str, Any]
    ) -> Written:
        """Closes a request whose work was done elsewhere (an access package, an
        erasure): `outcome` holds ids, digests and positions, never personal data."""
        request = self.request(request_id)
        request.fulfil(outcome, str(actor))
        return self._save(request)

    def fulfil_on_customer(
        self,
        actor: Actor,
        request_id: UUID,
        corrections: dict[str, str | None] | None = None,
    ) -> Written:
        """Restrict, object, withdraw consent or rectify: the customer's event and
        the request's fulfilment are saved together, or neither is."""
        request = self.request(request_id)
        customer = self.crm.customer(request.check_verified())
        outcome = self._change_customer(request, customer, corrections, str(actor))
        request.fulfil(outcome, str(actor))
        recordings = self.crm.save(customer, request)
        return Written(request.id, recordings[-1].notification.id)

    def lift_restriction(self, actor: Actor, customer_id: UUID, reason: str) -> Written:
        customer = self.crm.customer(customer_id)
        customer.lift_restriction(valid.text("reason", reason), str(actor))
        return self._save(customer)

    def check_processing_allowed(self, customer_id: UUID, purpose_code: str) -> None:
        """Refuses a use of the customer's data for `purpose_code` unless a live
        consent or an agreement covers it, no erasure is under way, and no
        restriction or objection forbids it (PURPOSE-LIMITATION, CONSENT-WITHDRAW,
        DSR-RESTRICT, DSR-OBJECT).

        Decided on the customer's own events, not on a read model, so that a
        withdrawal or a restriction holds at once, before any projection has
        applied it. Only the events that decide are decoded and they hold nothing
        personal: a check pays one indexed select. Serving the subject's own
        request needs no basis and is never blocked.
        """
        stored = self.crm.recorder.select_events(customer_id)
        consented = agreed = restricted = False
        objected: set[str] = set()
        for stored_event in stored:
            if stored_event.topic not in USE_TOPICS:
                continue
            event: Any = self.crm.mapper.to_domain_event(stored_event)
            if isinstance(event, Customer.ErasureRequested | Customer.DataKeyShredded):
                raise CustomerErasedError
            if isinstance(event, Customer.ProcessingObjected):
                objected |= set(event.purpose_codes)
            elif isinstance(event, Customer.ProcessingRestricted):
                restricted = True
            elif isinstance(event, Customer.RestrictionLifted):
                restricted = False
            elif event.purpose_code != purpose_code:
                continue
            elif isinstance(event, Customer.AgreementRecorded):
                agreed = True
            else:  # the latest consent event for the purpose decides
                consented = isinstance(event, Customer.ConsentGiven)
        if not (consented or agreed or purpose_code == DSR_PURPOSE):
            raise NoBasisForPurposeError(purpose_code)
        check_processing_allowed(restricted, objected, purpose_code)

    # Queries

    def request(self, request_id: UUID) -> SubjectRequest:
        try:
            request: SubjectRequest = self.crm.repository.get(request_id)
        except AggregateNotFoundError:
            raise RequestNotFoundError from None
        if not isinstance(request, SubjectRequest):
            raise RequestNotFoundError
        return request

    def requests(self) -> list[SubjectRequest]:
        """Every request, oldest first.

        Note: it loads each request from the event store, which suits a register
        of thousands; a read model of requests would lift that limit.
        """
        received = self.crm.recorder.select_notifications(
            start=None, limit=100_000, topics=[get_topic(SubjectRequest.Received)]
        )
        return [self.request(UUID(str(n.originator_id))) for n in received]

    def overdue(self, today: date) -> list[SubjectRequest]:
        return [r for r in self.requests() if r.is_overdue(today)]

    def due_soon(self, today: date, within_days: int) -> list[SubjectRequest]:
        horizon = today + timedelta(days=within_days)
        return sorted(
            (
                r
                for r in self.requests()
                if r.is_open and not r.is_overdue(today) and r.next_due() <= horizon
            ),
            key=lambda r: r.next_due(),
        )

    # Complaints (COMPLAINT)

    def lodge_complaint(
        self,
        actor: Actor,
        complainant: tuple[str, str],
        summary: str,
        links: dict[str, UUID | None],
        owner: str | None = None,
        due_on: date | None = None,
    ) -> Written:
        """A complaint, linked to a customer, a request or an incident if given."""
        if links.get("customer_id"):
            self.crm.customer(links["customer_id"])  # type: ignore[arg-type]
        if links.get("request_id"):
            self.request(links["request_id"])  # type: ignore[arg-type]
        if links.get("incident_id"):
            self.incident(links["incident_id"])  # type: ignore[arg-type]
        due = due_on or vietnam_date(datetime.now(UTC)) + timedelta(COMPLAINT_DAYS)
        complaint = Complaint._create(
            Complaint.Lodged,
            id=uuid.uuid4(),
            complainant_name=valid.text("complainant_name", complainant[0]),
            complainant_contact=valid.text("complainant_contact", complainant[1]),
            summary=valid.text("summary", summary, max_length=5_000),
            **{k: str(links[k]) if links.get(k) else None for k in LINKS},
            owner=valid.text("owner", owner or str(actor)),
            due_on=due.isoformat(),
            actor=str(actor),
        )
        return self._save(complaint)

    def assign_complaint(
        self, actor: Actor, complaint_id: UUID, owner: str, due_on: date
    ) -> Written:
        complaint = self.complaint(complaint_id)
        complaint.assign(valid.text("owner", owner), due_on, str(actor))
        return self._save(complaint)

    def close_complaint(
        self, actor: Actor, complaint_id: UUID, resolution: str
    ) -> Written:
        complaint = self.complaint(complaint_id)
        text = valid.text("resolution", resolution, max_length=2_000)
        complaint.close(text, str(actor))
        return self._save(complaint)

    def complaint(self, complaint_id: UUID) -> Complaint:
        return self._get(complaint_id, Complaint, "complaint")

    def complaints(self) -> list[Complaint]:
        return [self.complaint(i) for i in self._ids_of(Complaint.Lodged)]

    # Breach incidents (BREACH-NOTIFY)

    def register_incident(
        self, actor: Actor, discovered_at: datetime, form: dict[str, Any]
    ) -> Written:
        """A breach, with the authority's 72-hour clock running from discovery."""
        incident = BreachIncident._create(
            BreachIncident.Registered,
            id=uuid.uuid4(),
            discovered_at=discovered_at,
            notify_by=discovered_at + NOTIFY_WITHIN,
            form=_breach_form(form),
            actor=str(actor),
        )
        return self._save(incident)

    def complete_breach_form(
        self, actor: Actor, incident_id: UUID, form: dict[str, Any]
    ) -> Written:
        incident = self.incident(incident_id)
        incident.complete_form(_breach_form(form), str(actor))
        return self._save(incident)

    def record_breach_scope(
        self,
        actor: Actor,
        incident_id: UUID,
        reader: str,
        window: tuple[datetime, datetime],
        subject_reads: dict[UUID, int],
    ) -> Written:
        incident = self.incident(incident_id)
        subjects = sorted(str(s) for s in subject_reads)
        reads = sum(subject_reads.values())
        incident.record_scope(reader, window, subjects, reads, str(actor))
        return self._save(incident)

    def record_authority_notified(
        self, actor: Actor, incident_id: UUID, notified_at: datetime, reference: str
    ) -> Written:
        incident = self.incident(incident_id)
        ref = valid.text("reference", reference)
        incident.record_notification(notified_at, ref, str(actor))
        return self._save(incident)

    def close_incident(self, actor: Actor, incident_id: UUID) -> Written:
        incident = self.incident(incident_id)
        incident.close(str(actor))
        return self._save(incident)

    def incident(self, incident_id: UUID) -> BreachIncident:
        return self._get(incident_id, BreachIncident, "incident")

    def incidents(self) -> list[BreachIncident]:
        return [self.incident(i) for i in self._ids_of(BreachIncident.Registered)]

    def _get(self, record_id: UUID, kind: type[Record], what: str) -> Record:
        try:
            record: Any = self.crm.repository.get(record_id)
        except AggregateNotFoundError:
            raise RecordNotFoundError(what) from None
        if not isinstance(record, kind):
            raise RecordNotFoundError(what)
        return record

    def _ids_of(self, created: type) -> list[UUID]:
        found = self.crm.recorder.select_notifications(
            start=None, limit=100_000, topics=[get_topic(created)]
        )
        return [UUID(str(n.originator_id)) for n in found]

    # Residency (LOCALISATION, CROSS-BORDER)

    def store_regions(self) -> StoreRegions | None:
        try:
            stores: StoreRegions = self.crm.repository.get(STORE_REGIONS_ID)
        except AggregateNotFoundError:
            return None
        return stores

    def declare_store_regions(
        self, actor: Actor, regions: dict[str, str]
    ) -> Written | None:
        """Records where each store is, when that differs from the last record."""
        unknown = set(regions) - set(STORES)
        if unknown:
            raise InvalidValueError("regions", f"unknown stores {sorted(unknown)}")
        stores = self._stores(actor)
        if not stores.declare(dict(sorted(regions.items())), str(actor)):
            return None
        return self._save(stores)

    def record_transfer(
        self,
        actor: Actor,
        store: str,
        region: str,
        dossier_ref: str,
        filed_on: date,
    ) -> Written:
        """A cross-border transfer record: the dossier filed for `store` abroad."""
        stores = self._stores(actor)
        stores.record_transfer(
            valid.one_of("store", store, STORES),
            valid.jurisdiction(region),
            valid.text("dossier_ref", dossier_ref),
            filed_on,
            str(actor),
        )
        return self._save(stores)

    def _stores(self, actor: Actor) -> StoreRegions:
        stores = self.store_regions()
        if stores is None:
            stores = StoreRegions._create(
                StoreRegions.Created, id=STORE_REGIONS_ID, actor=str(actor)
            )
        return stores

    # Steps

    def _purpose_codes(self, kind: str, codes: Sequence[str]) -> list[str]:
        if kind not in PURPOSE_KINDS:
            return []
        if not codes:
            raise InvalidValueError(
                "purpose_codes", f"a {kind} request names the purposes it is about"
            )
        return [self.crm.purpose(code).code for code in sorted(set(codes))]

    def _change_customer(
        self,
        request: SubjectRequest,
        customer: Customer,
        corrections: dict[str, str | None] | None,
        actor: str,
    ) -> dict[str, Any]:
        if request.kind == "restrict":
            customer.restrict_processing(request.id, actor)
            return {"restricted": True}
        if request.kind == "object":
            customer.object_to_processing(request.purpose_codes, request.id, actor)
            return {"objected_purposes": request.purpose_codes}
        if request.kind == "withdraw-consent":
            withdrawn = [
                c for c in request.purpose_codes if customer.has_consent_for(c)
            ]
            for code in withdrawn:
                customer.withdraw_consent(
                    code, WITHDRAWAL_CHANNEL[request.channel], actor
                )
            return {"withdrawn_purposes": withdrawn}
        if request.kind == "rectify":
            fields = _valid_corrections(corrections or {})
            customer.rectify(fields, request.id, actor)
            return {"rectified_fields": sorted(f for f, v in fields.items() if v)}
        raise RequestStateError(
            f"a {request.kind} request is fulfilled through its own endpoint"
        )

    def _save(self, aggregate: Any) -> Written:
        return self.crm._save(aggregate)


LINKS = ("customer_id", "request_id", "incident_id")


def _breach_form(form: dict[str, Any]) -> str:
    """The notification form's fields as JSON, sealed at rest by the mapper."""
    unknown = set(form) - set(BREACH_FORM_FIELDS)
    if unknown:
        raise InvalidValueError(
            "form", f"unknown fields {sorted(unknown)}; use {BREACH_FORM_FIELDS}"
        )
    return json.dumps(form, ensure_ascii=False, sort_keys=True, default=str)


def _valid_corrections(corrections: dict[str, str | None]) -> dict[str, str | None]:
    unknown = set(corrections) - set(PERSONAL_FIELDS)
    if unknown:
        raise InvalidValueError(
            "corrections", f"unknown fields {sorted(unknown)}; use {PERSONAL_FIELDS}"
        )
    checked: dict[str, str | None] = {
        "full_name": valid.optional_text("full_name", corrections.get("full_name")),
        "phone": valid.phone(corrections.get("phone")),
        "email": valid.email(corrections.get("email")),
        "postal_address": valid.optional_text(
            "postal_address", corrections.get("postal_address"), max_length=500
        ),
        "date_of_birth": valid.date_of_birth(corrections.get("date_of_birth")),
    }
    if not any(checked.values()):
        raise InvalidValueError("corrections", "send at least one corrected value")
    return checked
