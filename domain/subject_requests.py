"""Data subject requests: access, rectify, erase, restrict, object, withdraw consent.

Each request is an aggregate whose every state change is an event: received,
identity verified, acknowledged, extended (once, with a reason), and then either
fulfilled or refused with its legal ground. Nothing is updated in place.
"""

from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from crypto_shredding.markers import DataSubject, Personal, PersonalState
from domain.errors import DomainError

KINDS = ("access", "rectify", "erase", "restrict", "object", "withdraw-consent")
INTAKE_CHANNELS = ("dpo", "public-form")
VERIFICATION_METHODS = (
    "id-document-in-person",
    "signed-request",
    "known-contact-confirmed",
    "authenticated-account",
)
# The purpose a read names when the data protection officer serves a request; a
# restriction or an objection never blocks it, since it serves the subject.
DSR_PURPOSE = "data-subject-request"
ACKNOWLEDGE_WORKING_DAYS = 2
# Calendar days to execute, and when processors must act too (REQUIREMENTS DSR-*).
EXECUTION_DAYS: dict[str, tuple[int, int]] = {
    "access": (10, 15),
    "rectify": (10, 15),
    "erase": (20, 30),
    "restrict": (15, 20),
    "object": (15, 20),
    # CONSENT-WITHDRAW: done within 15 days; we allow no more with processors.
    "withdraw-consent": (15, 15),
}


class RequestNotFoundError(DomainError):
    def __init__(self) -> None:
        super().__init__("no data subject request with this id; list requests first")


class RequestStateError(DomainError):
    """The request is not in a state that allows this step; the message says why."""


class SubjectRequest(Aggregate):
    """One request of a data subject; the requester's own words are sealed under
    the request's id, so they can be shredded apart from any customer."""

    __personal_state__ = PersonalState(
        subject="originator_id",
        fields=("requester_name", "requester_contact", "details"),
    )

    class Event(Aggregate.Event):
        originator_id: Annotated[UUID, DataSubject]
        actor: str

    class Received(Event, Aggregate.Created):
        kind: str
        channel: str
        customer_id: str | None
        purpose_codes: list[str]
        processors_involved: bool
        requester_name: Annotated[str, Personal]
        requester_contact: Annotated[str, Personal]
        details: Annotated[str | None, Personal]
        received_on: str
        acknowledge_due: str
        execute_due: str
        calendar: str

    class IdentityVerified(Event):
        customer_id: str
        method: str

        def apply(self, request: "SubjectRequest") -> None:
            request.customer_id = self.customer_id
            request.verified_by = self.actor
            request.verification_method = self.method

    class Acknowledged(Event):
        channel: str

        def apply(self, request: "SubjectRequest") -> None:
            request.acknowledged_at = self.timestamp.isoformat()

    class Extended(Event):
        reason: str
        days: int
        execute_due: str

        def apply(self, request: "SubjectRequest") -> None:
            request.extension = {"reason": self.reason, "days": self.days}
            request.execute_due = self.execute_due

    class Fulfilled(Event):
        outcome: dict[str, Any]

        def apply(self, request: "SubjectRequest") -> None:
            request.outcome = dict(self.outcome)
            request.closed_at = self.timestamp.isoformat()

    class Refused(Event):
        legal_ground: str
        told_via: str

        def apply(self, request: "SubjectRequest") -> None:
            request.refusal = {
                "legal_ground": self.legal_ground,
                "told_via": self.told_via,
            }
            request.closed_at = self.timestamp.isoformat()

    def __init__(
        self,
        kind: str,
        channel: str,
        customer_id: str | None,
        purpose_codes: list[str],
        processors_involved: bool,
        requester_name: Any,
        requester_contact: Any,
        details: Any,
        received_on: str,
        acknowledge_due: str,
        execute_due: str,
        calendar: str,
    ) -> None:
        self.kind = kind
        self.channel = channel
        self.customer_id = customer_id
        self.purpose_codes = list(purpose_codes)
        self.processors_involved = processors_involved
        self.requester_name = requester_name
        self.requester_contact = requester_contact
        self.details = details
        self.received_on = received_on
        self.acknowledge_due = acknowledge_due
        self.execute_due = execute_due
        self.calendar = calendar
        self.verified_by: str | None = None
        self.verification_method: str | None = None
        self.acknowledged_at: str | None = None
        self.extension: dict[str, Any] | None = None
        self.outcome: dict[str, Any] | None = None
        self.refusal: dict[str, str] | None = None
        self.closed_at: str | None = None

    @property
    def status(self) -> str:
        if self.outcome is not None:
            return "fulfilled"
        if self.refusal is not None:
            return "refused"
        if self.verified_by is not None:
            return "verified"
        return "acknowledged" if self.acknowledged_at else "received"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def verify_identity(self, customer_id: UUID, method: str, actor: str) -> None:
        self.check_open()
        self.trigger_event(
            self.IdentityVerified,
            customer_id=str(customer_id),
            method=method,
            actor=actor,
        )

    def acknowledge(self, channel: str, actor: str) -> None:
        self.check_open()
        if self.acknowledged_at is None:
            self.trigger_event(self.Acknowledged, channel=channel, actor=actor)

    def extend(self, reason: str, days: int, actor: str) -> None:
        self.check_open()
        if self.extension is not None:
            raise RequestStateError(
                "this request's deadline was extended once already; the law allows "
                "one extension: fulfil or refuse it"
            )
        limit = EXECUTION_DAYS[self.kind][1 if self.processors_involved else 0]
        if not 1 <= days <= limit:
            raise RequestStateError(
                f"an extension is 1 to {limit} days for a {self.kind} request"
            )
        due = date.fromisoformat(self.execute_due) + timedelta(days=days)
        self.trigger_event(
            self.Extended,
            reason=reason,
            days=days,
            execute_due=due.isoformat(),
            actor=actor,
        )

    def fulfil(self, outcome: dict[str, Any], actor: str) -> None:
        self.check_verified()
        self.trigger_event(self.Fulfilled, outcome=outcome, actor=actor)

    def refuse(self, legal_ground: str, told_via: str, actor: str) -> None:
        self.check_open()
        self.trigger_event(
            self.Refused, legal_ground=legal_ground, told_via=told_via, actor=actor
        )

    def check_open(self) -> None:
        if not self.is_open:
            raise RequestStateError(
                f"this request is closed ({self.status}); receive a new request instead"
            )

    def check_verified(self) -> UUID:
        """The verified subject's customer id; fulfilment needs it."""
        self.check_open()
        if self.verified_by is None or self.customer_id is None:
            raise RequestStateError(
                "the requester's identity is not verified; record the verification "
                "(which customer, which method) before fulfilling the request"
            )
        return UUID(self.customer_id)

    def is_overdue(self, today: date) -> bool:
        return self.is_open and (
            date.fromisoformat(self.execute_due) < today
            or (
                self.acknowledged_at is None
                and date.fromisoformat(self.acknowledge_due) < today
            )
        )

    def next_due(self) -> date:
        """The earliest deadline still to meet."""
        if self.acknowledged_at is None:
            return date.fromisoformat(self.acknowledge_due)
        return date.fromisoformat(self.execute_due)
