"""Interactions with a customer: calls, meetings, e-mails and notes."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from crypto_shredding.markers import DataSubject, Personal, PersonalState

KINDS = ("call", "meeting", "email", "note")


class Interaction(Aggregate):
    """One contact with a customer; its free text is that customer's personal data."""

    __personal_state__ = PersonalState(subject="customer_id", fields=("text",))

    class Event(Aggregate.Event):
        actor: str

    class Logged(Event, Aggregate.Created):
        customer_id: Annotated[UUID, DataSubject]
        kind: str
        text: Annotated[str, Personal]
        occurred_at: datetime

    def __init__(
        self, customer_id: UUID, kind: str, text: Any, occurred_at: datetime
    ) -> None:
        self.customer_id = customer_id
        self.kind = kind
        self.text = text
        self.occurred_at = occurred_at
