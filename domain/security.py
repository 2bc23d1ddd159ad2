"""Security events: sign-ins refused, tokens issued and revoked, alerts, checks.

Each is its own aggregate, like a record of a personal-data read, so that
recording one never contends with other writes; being events, they enter the
audit ledger. They hold ids, kinds and reasons: never a secret, a token, key
material or a customer's personal data.
"""

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

KINDS = (
    "sign-in-failed",
    "access-forbidden",
    "token-created",
    "token-revoked",
    "token-suspended",
    "token-reinstated",
    "role-changed",
    "configuration-changed",
    "bulk-read-alert",
    "security-check",
    "ledger-audit",
)
SECRET_WORDS = ("secret", "password", "token_value", "private", "key_material")


class SecurityEvent(Aggregate):
    """One security-relevant fact; `details` holds only ids, counts and reasons."""

    class Recorded(Aggregate.Created):
        kind: str
        principal_id: str
        details: dict[str, Any]
        actor: str

    def __init__(self, kind: str, principal_id: str, details: dict[str, Any]) -> None:
        self.kind = kind
        self.principal_id = principal_id
        self.details = dict(details)


def record_security_event(
    application: Application[Any],
    actor: str,
    kind: str,
    principal_id: str = "",
    **details: Any,
) -> SecurityEvent:
    """Records a security event; refuses unknown kinds and secret-looking fields."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event kind {kind!r}; use one of {KINDS}")
    for name in details:
        if any(word in name.lower() for word in SECRET_WORDS):
            raise ValueError(f"security events never hold secrets; drop {name!r}")
    event = SecurityEvent._create(
        SecurityEvent.Recorded,
        kind=kind,
        principal_id=principal_id,
        details=details,
        actor=actor,
    )
    application.save(event)
    return event


def security_events(
    application: Application[Any], kind: str | None = None
) -> list[SecurityEvent]:
    """Every recorded security event, oldest first; of one kind if given."""
    topic = get_topic(SecurityEvent.Recorded)
    found: list[SecurityEvent] = []
    start: int | None = None
    while page := application.recorder.select_notifications(
        start=start, limit=1000, topics=[topic], inclusive_of_start=start is None
    ):
        for notification in page:
            event: SecurityEvent = application.repository.get(
                UUID(str(notification.originator_id))
            )
            if kind is None or event.kind == kind:
                found.append(event)
        start = page[-1].id
    return found
