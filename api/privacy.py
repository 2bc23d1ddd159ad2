"""The privacy office's documents: a subject's events with ledger proofs, the
access package (JSON and HTML) and a consent's record for print."""

import hashlib
import html
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from api.read_your_writes import wait_for_read_side
from api.wiring import Services
from crypto_shredding import SealedValue
from domain import Actor, Customer, Interaction, Written, notice_sha256
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.customer import PERSONAL_FIELDS
from domain.errors import (
    ConsentNotGivenError,
    CustomerNotFoundError,
    NoBasisForPurposeError,
    ProcessingRestrictedError,
)
from domain.privacy_office import PrivacyOffice
from domain.subject_requests import DSR_PURPOSE, SubjectRequest
from domain.working_days import WorkingDays
from ledger import LedgerLookupError

PACKAGE_FORMAT = "ledgercrm-access-package/1"
CONSENT_RECORD_FORMAT = "ledgercrm-consent-record/1"
SCAN_BATCH = 1_000
TABLE_COLUMNS = 6  # wider or nested records print one by one
CONSENT_EVENTS = (
    Customer.ConsentGiven,
    Customer.RepresentativeConsented,
    Customer.ConsentWithdrawn,
)


@cache
def vietnam_calendar() -> WorkingDays:
    return WorkingDays.vietnam()


def privacy_office(services: Services) -> PrivacyOffice:
    return PrivacyOffice(services.crm, vietnam_calendar())


@dataclass(frozen=True)
class SubjectEvent:
    """One stored event about the subject, personal fields still sealed."""

    position: int
    event: Any

    @property
    def type(self) -> str:
        return f"{type(self.event).__qualname__}"


def may_process(services: Services, customer_id: UUID, purpose_code: str) -> bool:
    """False unless a basis for the purpose holds and no erasure, restriction or
    objection of the customer forbids using their data for it; read from their
    events, so a withdrawal counts at once (CONSENT-WITHDRAW, DSR-RESTRICT,
    DSR-OBJECT)."""
    try:
        privacy_office(services).check_processing_allowed(customer_id, purpose_code)
    except (
        ProcessingRestrictedError,
        NoBasisForPurposeError,
        CustomerNotFoundError,
    ):
        return False
    return True


@runtime_checkable
class NotificationsAtPositions(Protocol):
    """Our recorders fetch notifications by position (api/*_recorders.py)."""

    def select_notifications_at(
        self, positions: Sequence[int]
    ) -> list[Notification]: ...


def record_subject_read(
    services: Services, actor: Actor, customer_id: UUID, fields: list[str]
) -> Written:
    """Records the data protection officer's read of the subject's data, once
    the read model `events_by_subject` has caught up with the log: a lagging one
    answers 503 before anything is recorded, not after."""
    head = services.crm.recorder.max_notification_id() or 0
    wait_for_read_side(services, head, services.subject_events_runner)
    return services.crm.record_personal_data_read(
        actor, customer_id, DSR_PURPOSE, fields
    )


def subject_events(
    services: Services, customer_id: UUID, up_to: int
) -> list[SubjectEvent]:
    """Every event about the customer up to position `up_to` at least: their own,
    their interactions, the reads and exports of their data and their requests,
    in notification order, none of them opened.

    The read model `events_by_subject` names their positions, so only those
    notifications are fetched: the cost follows the subject's own events, not
    the length of the log. It waits (at most LEDGERCRM_READ_WAIT_SECONDS) for
    that read model to reach `up_to`, else answers 503 like any lagging query.
    """
    wait_for_read_side(services, up_to, services.subject_events_runner)
    positions = services.subject_events.positions(services.read_models, customer_id)
    mapper = services.crm.mapper
    found = []
    for notification in notifications_at(services, positions):
        event = mapper.to_sealed_domain_event(notification)  # type: ignore[attr-defined]
        if _concerns(event, customer_id):  # what the read model promised
            found.append(SubjectEvent(notification.id, event))
    return found


def notifications_at(
    services: Services, positions: list[int]
) -> Iterator[Notification]:
    """The stored notifications at `positions`, in order, in batches."""
    recorder = services.crm.recorder
    if not isinstance(recorder, NotificationsAtPositions):
        raise TypeError(
            f"{type(recorder).__name__} cannot select notifications by position; "
            "use the recorders of api/sqlite_recorders.py or api/postgres_recorders.py"
        )
    for start in range(0, len(positions), SCAN_BATCH):
        yield from recorder.select_notifications_at(
            positions[start : start + SCAN_BATCH]
        )


def ledger_proof(services: Services, position: int) -> dict[str, Any]:
    """The event's inclusion proof and receipt, or `pending` until a signed ledger
    checkpoint covers it."""
    try:
        proof = services.ledger.inclusion_proof(position)
        receipt = services.ledger.receipt(position, proof.tree_size)
    except LedgerLookupError:
        return {
            "status": "pending",
            "detail": "no signed ledger checkpoint covers "
            "this event yet; generate the document again in a few seconds",
        }
    return {
        "status": "included",
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "entry": proof.entry.decode(),
        "receipt": receipt.decode(),
    }


def access_package(
    services: Services, actor: Actor, customer_id: UUID
) -> dict[str, Any]:
    """DSR-ACCESS: everything held about the subject, with ledger proofs.

    1. Load the customer (personal values opened; ERASED after shredding).
    2. Record the read under the purpose `data-subject-request`, before serving.
    3. Collect the subject's events, interactions, the record of reads and the
       exports that disclosed their data.
    4. Attach the notice text of every consent and each event's ledger proof.
    """
    # Step 1.
    customer = services.crm.customer(customer_id)

    # Step 2.
    read = record_subject_read(
        services, actor, customer_id, [*PERSONAL_FIELDS, "interaction.text"]
    )

    # Step 3.
    events = subject_events(services, customer_id, read.position)
    opened = services.crm.mapper.open_sealed  # type: ignore[attr-defined]

    # Step 4.
    return {
        "format": PACKAGE_FORMAT,
        "subject_id": str(customer_id),
        "generated_at": datetime.now(UTC).isoformat(),
        "personal_data": {f: plain_text(getattr(customer, f)) for f in PERSONAL_FIELDS},
        "profile": {
            "stage": customer.stage,
            "owner": customer.owner,
            "tags": customer.tags,
            "jurisdiction": customer.jurisdiction,
            "restricted": customer.restricted,
            "objections": customer.objections,
            "erased": customer.erased,
        },
        "consents": [
            consent_view(services, customer, code) for code in sorted(customer.consents)
        ],
        "agreements": [
            agreement_view(services, code, ref)
            for code, ref in sorted(customer.agreements.items())
        ],
        "interactions": [
            {
                "id": str(e.event.originator_id),
                "kind": e.event.kind,
                "text": plain_text(_open(opened, e.event.text)),
                "occurred_at": e.event.occurred_at.isoformat(),
                "logged_by": e.event.actor,
            }
            for e in events
            if isinstance(e.event, Interaction.Logged)
        ],
        "reads": [
            {
                "at": e.event.timestamp.isoformat(),
                "by": e.event.actor,
                "purpose_code": e.event.purpose_code,
                "fields": e.event.fields,
            }
            for e in events
            if isinstance(e.event, PersonalDataAccess.Recorded)
        ],
        "disclosures": [
            {
                "at": e.event.timestamp.isoformat(),
                "by": e.event.actor,
                "recipient": e.event.recipient,
                "agreement_ref": e.event.agreement_ref,
                "purpose_code": e.event.purpose_code,
                "fields": e.event.fields,
            }
            for e in events
            if isinstance(e.event, PersonalDataExport.Recorded)
        ],
        "events": [_event_view(services, e) for e in events],
    }


def consent_view(
    services: Services, customer: Customer, purpose_code: str
) -> dict[str, Any]:
    """A consent with the exact notice text it was given against, and what that
    notice told about sensitive data (SENSITIVE-DATA)."""
    consent = customer.consents[purpose_code]
    purpose = services.crm.purpose(purpose_code)
    notice = purpose.notice(consent["notice_version"]) or {}
    text_hash = (
        notice_sha256(
            notice["text_vi"],
            notice["text_en"],
            notice["sensitive_statement_vi"],
            notice["sensitive_statement_en"],
        )
        if notice
        else None
    )
    return {
        "purpose_code": purpose_code,
        "purpose_title_vi": purpose.title_vi,
        "purpose_title_en": purpose.title_en,
        "legal_basis": purpose.legal_basis,
        "purpose_discloses": purpose.discloses,
        **{k: v for k, v in consent.items() if k != "given_by"},
        "captured_by": consent["given_by"],
        "notice_text_vi": notice.get("text_vi"),
        "notice_text_en": notice.get("text_en"),
        "sensitive_data_categories": purpose.sensitive_categories,
        "sensitive_statement_vi": notice.get("sensitive_statement_vi"),
        "sensitive_statement_en": notice.get("sensitive_statement_en"),
        "notice_text_matches_hash": text_hash == consent["notice_sha256"],
    }


def agreement_view(
    services: Services, purpose_code: str, agreement_ref: str
) -> dict[str, Any]:
    """An agreement with its purpose and, for sensitive data, what the purpose's
    latest notice tells the person about it (SENSITIVE-DATA)."""
    purpose = services.crm.purpose(purpose_code)
    notice = purpose.latest_notice or {}
    return {
        "purpose_code": purpose_code,
        "agreement_ref": agreement_ref,
        "purpose_title_vi": purpose.title_vi,
        "purpose_title_en": purpose.title_en,
        "purpose_discloses": purpose.discloses,
        "sensitive_data_categories": purpose.sensitive_categories,
        "sensitive_statement_vi": notice.get("sensitive_statement_vi"),
        "sensitive_statement_en": notice.get("sensitive_statement_en"),
    }


def consent_record(
    services: Services, actor: Actor, customer_id: UUID, purpose_code: str
) -> dict[str, Any]:
    """CONSENT-PROOF: who consented, when, how, to what notice text, and the
    ledger's proof of the consent event (and of its withdrawal, if any)."""
    customer = services.crm.customer(customer_id)
    if purpose_code not in customer.consents:
        raise ConsentNotGivenError(
            f"the customer never consented to purpose {purpose_code!r}; "
            "list their consents in the access package"
        )
    read = record_subject_read(services, actor, customer_id, ["full_name"])
    own = [
        e
        for e in subject_events(services, customer_id, read.position)
        if isinstance(e.event, CONSENT_EVENTS) and e.event.purpose_code == purpose_code
    ]
    return {
        "format": CONSENT_RECORD_FORMAT,
        "subject_id": str(customer_id),
        "subject_name": plain_text(customer.full_name),
        "consent": consent_view(services, customer, purpose_code),
        "events": [_event_view(services, e) for e in own],
        "generated_at": datetime.now(UTC).isoformat(),
    }


def package_digest(package: dict[str, Any]) -> str:
    canonical = json.dumps(package, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_html(title: str, document: dict[str, Any], lang: str = "en") -> str:
    """A plain, printable HTML page of a document: its plain values first, then a
    heading per section; lists of records as tables. Every value is escaped."""
    plain = {k: v for k, v in document.items() if not isinstance(v, dict | list)}
    sections = "".join(
        f"<h2>{_e(_label(key))}</h2>{_html_value(value)}"
        for key, value in document.items()
        if key not in plain
    )
    return (
        f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{_e(title)}</h1>{_html_value(plain)}{sections}</body></html>"
    )


STYLE = (
    "body{font-family:sans-serif;max-width:64em;margin:2em auto;line-height:1.4}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid"
    " #999;padding:.3em;vertical-align:top;text-align:left}pre{white-space:pre-wrap;"
    "font-size:.75em;margin:0}dl{display:grid;grid-template-columns:max-content auto;"
    "gap:.2em 1em}dt{font-weight:bold}dd{margin:0;overflow-wrap:anywhere}"
    ".record{border:1px solid #999;padding:.5em;margin:.5em 0}"
    "@media print{h2{break-after:avoid}tr,.record{break-inside:avoid}}"
)


def _html_value(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "—"
        rows = "".join(
            f"<dt>{_e(_label(k))}</dt><dd>{_html_value(v)}</dd>"
            for k, v in value.items()
        )
        return f"<dl>{rows}</dl>"
    if isinstance(value, list):
        if not value:
            return "<p>—</p>"
        if not all(isinstance(v, dict) for v in value):
            if all(len(str(v)) <= 40 for v in value):
                return _e(", ".join("—" if v is None else str(v) for v in value))
            return (
                "<ul>" + "".join(f"<li>{_html_value(v)}</li>" for v in value) + "</ul>"
            )
        flat = not any(isinstance(v, dict) for r in value for v in r.values())
        if flat and len({k for r in value for k in r}) <= TABLE_COLUMNS:
            return _html_table(value)
        return "".join(f'<div class="record">{_html_value(v)}</div>' for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and "\n" in value:
        return f"<pre>{_e(value)}</pre>"
    return _e("—" if value in (None, "") else str(value))


def _html_table(records: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for r in records for k in r))
    head = "".join(f"<th>{_e(_label(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_html_value(r.get(c))}</td>" for c in columns) + "</tr>"
        for r in records
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _event_view(services: Services, subject_event: SubjectEvent) -> dict[str, Any]:
    event = subject_event.event
    return {
        "position": subject_event.position,
        "type": subject_event.type,
        "at": event.timestamp.isoformat(),
        "by": getattr(event, "actor", None),
        "ledger": ledger_proof(services, subject_event.position),
    }


def notifications_of(
    services: Services, topics: list[str], *, decode: bool = True
) -> Iterator[Any]:
    """The stored events of `topics` in notification order, in batches: as
    (position, event with personal fields sealed), or the raw notifications."""
    mapper = services.crm.mapper
    start = 1
    while True:
        batch = services.crm.recorder.select_notifications(
            start=start, limit=SCAN_BATCH, topics=topics
        )
        for notification in batch:
            if not decode:
                yield notification
                continue
            event = mapper.to_sealed_domain_event(notification)  # type: ignore[attr-defined]
            yield notification.id, event
        if len(batch) < SCAN_BATCH:
            return
        start = batch[-1].id + 1


def _concerns(event: Any, customer_id: UUID) -> bool:
    if isinstance(event, PersonalDataExport.Recorded):
        return customer_id in event.customer_ids
    if isinstance(event, Customer.Event):
        return bool(event.originator_id == customer_id)
    if isinstance(event, SubjectRequest.Received):
        return event.customer_id == str(customer_id)
    if isinstance(event, SubjectRequest.IdentityVerified):
        return event.customer_id == str(customer_id)
    return getattr(event, "customer_id", None) == customer_id


def _open(opened: Any, value: Any) -> Any:
    return opened(value) if isinstance(value, SealedValue) else value


def plain_text(value: Any) -> str | None:
    """A personal value as text: None if absent, "ERASED" once shredded."""
    if value is None:
        return None
    return value if isinstance(value, str) else "ERASED"


@dataclass(frozen=True)
class ReadRecord:
    position: int
    at: datetime
    reader: str
    customer_id: UUID
    purpose_code: str
    fields: list[str]


def reads_by(
    services: Services, reader: str, window: tuple[datetime, datetime]
) -> list[ReadRecord]:
    """BREACH-NOTIFY: the recorded reads of personal data by `reader` (an actor
    as recorded, `role:token_id`, or a bare token id) within `window`.

    Note: it scans the record of reads by topic, so its cost grows with the
    log; an index of reads by actor would make it follow the actor's reads.
    """
    found = []
    topics = [get_topic(PersonalDataAccess.Recorded)]
    for position, event in notifications_of(services, topics):
        actor = str(event.actor)
        if reader not in (actor, actor.partition(":")[2]):
            continue
        if window[0] <= event.timestamp <= window[1]:
            found.append(
                ReadRecord(
                    position,
                    event.timestamp,
                    actor,
                    event.customer_id,
                    event.purpose_code,
                    list(event.fields),
                )
            )
    return found


def suppression_list(services: Services) -> dict[UUID, dict[str, Any]]:
    """DSR-OBJECT, DSR-RESTRICT: customers not to be contacted, with why: the
    purposes they objected to, or a restriction still in force; erased ones drop
    out. Built from the customers' events, so it holds at once."""
    topics = [
        get_topic(c)
        for c in (
            Customer.ProcessingObjected,
            Customer.ProcessingRestricted,
            Customer.RestrictionLifted,
            Customer.DataKeyShredded,
        )
    ]
    entries: dict[UUID, dict[str, Any]] = {}
    for _, event in notifications_of(services, topics):
        entry = entries.setdefault(
            event.originator_id, {"restricted": False, "objected_purposes": []}
        )
        if isinstance(event, Customer.ProcessingObjected):
            objected = set(entry["objected_purposes"]) | set(event.purpose_codes)
            entry["objected_purposes"] = sorted(objected)
        elif isinstance(event, Customer.DataKeyShredded):
            entries.pop(event.originator_id)
        else:
            entry["restricted"] = isinstance(event, Customer.ProcessingRestricted)
    return {
        customer_id: entry
        for customer_id, entry in entries.items()
        if entry["restricted"] or entry["objected_purposes"]
    }
