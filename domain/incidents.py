"""The privacy office's registers: complaints (COMPLAINT) and breach incidents
(BREACH-NOTIFY), each an aggregate of events; free text is sealed under the
record's own id, since people write names into it."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from crypto_shredding.markers import DataSubject, Personal, PersonalState
from domain.errors import DomainError

NOTIFY_WITHIN = timedelta(hours=72)
# The fields of the authority's breach notification form (D356 Form 08), in order.
BREACH_FORM_FIELDS = (
    "occurred_at",
    "place",
    "what_happened",
    "parties",
    "data_types",
    "volume",
    "dpo_contact",
    "likely_consequences",
    "measures_taken",
)


class RecordNotFoundError(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(f"no {what} with this id; list the register first")


class RecordClosedError(DomainError):
    """The complaint or incident is closed; open a new one instead."""


class Complaint(Aggregate):
    """A complaint, linked to a customer, a request or an incident if known."""

    __personal_state__ = PersonalState(
        subject="originator_id",
        fields=("complainant_name", "complainant_contact", "summary"),
    )

    class Event(Aggregate.Event):
        originator_id: Annotated[UUID, DataSubject]
        actor: str

    class Lodged(Event, Aggregate.Created):
        complainant_name: Annotated[str, Personal]
        complainant_contact: Annotated[str, Personal]
        summary: Annotated[str, Personal]
        customer_id: str | None
        request_id: str | None
        incident_id: str | None
        owner: str
        due_on: str

    class Assigned(Event):
        owner: str
        due_on: str

        def apply(self, complaint: "Complaint") -> None:
            complaint.owner, complaint.due_on = self.owner, self.due_on

    class Closed(Event):
        resolution: str

        def apply(self, complaint: "Complaint") -> None:
            complaint.resolution = self.resolution
            complaint.closed_at = self.timestamp.isoformat()

    def __init__(
        self,
        complainant_name: Any,
        complainant_contact: Any,
        summary: Any,
        customer_id: str | None,
        request_id: str | None,
        incident_id: str | None,
        owner: str,
        due_on: str,
    ) -> None:
        self.complainant_name = complainant_name
        self.complainant_contact = complainant_contact
        self.summary = summary
        self.customer_id = customer_id
        self.request_id = request_id
        self.incident_id = incident_id
        self.owner = owner
        self.due_on = due_on
        self.resolution: str | None = None
        self.closed_at: str | None = None

    @property
    def status(self) -> str:
        return "closed" if self.closed_at else "open"

    def assign(self, owner: str, due_on: date, actor: str) -> None:
        self._check_open()
        self.trigger_event(
            self.Assigned, owner=owner, due_on=due_on.isoformat(), actor=actor
        )

    def close(self, resolution: str, actor: str) -> None:
        self._check_open()
        self.trigger_event(self.Closed, resolution=resolution, actor=actor)

    def _check_open(self) -> None:
        if self.closed_at:
            raise RecordClosedError("this complaint is closed; lodge a new one")


class BreachIncident(Aggregate):
    """A personal data breach, from discovery to the authority's notification."""

    __personal_state__ = PersonalState(subject="originator_id", fields=("form",))

    class Event(Aggregate.Event):
        originator_id: Annotated[UUID, DataSubject]
        actor: str

    class Registered(Event, Aggregate.Created):
        discovered_at: datetime
        notify_by: datetime
        form: Annotated[str, Personal]

    class FormCompleted(Event):
        """A new version of the notification form; it supersedes the last."""

        form: Annotated[str, Personal]

        def apply(self, incident: "BreachIncident") -> None:
            incident.form = self.form

    class ScopeRecorded(Event):
        reader: str
        window_start: datetime
        window_end: datetime
        subject_ids: list[str]
        reads: int

        def apply(self, incident: "BreachIncident") -> None:
            incident.scopes.append(
                {
                    "reader": self.reader,
                    "window_start": self.window_start.isoformat(),
                    "window_end": self.window_end.isoformat(),
                    "subject_ids": list(self.subject_ids),
                    "reads": self.reads,
                    "recorded_at": self.timestamp.isoformat(),
                }
            )

    class AuthorityNotified(Event):
        notified_at: datetime
        reference: str

        def apply(self, incident: "BreachIncident") -> None:
            incident.notified_at = self.notified_at
            incident.notification_reference = self.reference

    class Closed(Event):
        def apply(self, incident: "BreachIncident") -> None:
            incident.closed_at = self.timestamp.isoformat()

    def __init__(self, discovered_at: datetime, notify_by: datetime, form: Any) -> None:
        self.discovered_at = discovered_at
        self.notify_by = notify_by
        self.form = form  # JSON of the form's fields, sealed at rest
        self.scopes: list[dict[str, Any]] = []
        self.notified_at: datetime | None = None
        self.notification_reference: str | None = None
        self.closed_at: str | None = None

    def complete_form(self, form: str, actor: str) -> None:
        self._check_open()
        self.trigger_event(self.FormCompleted, form=form, actor=actor)

    def record_scope(
        self,
        reader: str,
        window: tuple[datetime, datetime],
        subject_ids: list[str],
        reads: int,
        actor: str,
    ) -> None:
        self._check_open()
        self.trigger_event(
            self.ScopeRecorded,
            reader=reader,
            window_start=window[0],
            window_end=window[1],
            subject_ids=subject_ids,
            reads=reads,
            actor=actor,
        )

    def record_notification(
        self, notified_at: datetime, reference: str, actor: str
    ) -> None:
        self._check_open()
        if self.notified_at is not None:
            raise RecordClosedError("the authority's notification is recorded already")
        self.trigger_event(
            self.AuthorityNotified,
            notified_at=notified_at,
            reference=reference,
            actor=actor,
        )

    def close(self, actor: str) -> None:
        self._check_open()
        self.trigger_event(self.Closed, actor=actor)

    def is_overdue(self, now: datetime) -> bool:
        return self.notified_at is None and now > self.notify_by

    def _check_open(self) -> None:
        if self.closed_at:
            raise RecordClosedError("this incident is closed; register a new one")
