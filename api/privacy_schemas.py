"""Request and response models of the privacy office's endpoints."""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas import Request, example

RequestKind = Literal[
    "access", "rectify", "erase", "restrict", "object", "withdraw-consent"
]
ContactChannel = Literal["web-form", "paper-form", "phone", "email", "in-person", "app"]


class SubjectRequestIntake(Request):
    """A data subject request as received by the data protection officer."""

    model_config = example(
        {
            "kind": "erase",
            "requester_name": "Nguyễn Văn An",
            "requester_contact": "an@example.vn",
            "customer_id": None,
            "purpose_codes": [],
            "processors_involved": False,
            "details": "Please delete my data",
        }
    )

    kind: RequestKind
    requester_name: str = Field(max_length=200)
    requester_contact: str = Field(
        max_length=200, description="how to reach the requester: e-mail or phone"
    )
    customer_id: UUID | None = Field(None, description="the subject, if known")
    purpose_codes: list[str] = Field(
        default_factory=list, description="for object and withdraw-consent"
    )
    processors_involved: bool = False
    details: str | None = Field(None, max_length=5_000)


class PublicRequestIntake(Request):
    """The public form: a request anyone may send, without a token."""

    model_config = example(
        {
            "kind": "object",
            "requester_name": "Trần Thị Bích",
            "requester_contact": "0912 345 678",
            "purpose_codes": ["marketing-email"],
            "details": "Stop the offers",
        }
    )

    kind: RequestKind
    requester_name: str = Field(max_length=200)
    requester_contact: str = Field(max_length=200)
    purpose_codes: list[str] = Field(default_factory=list)
    details: str | None = Field(None, max_length=5_000)


class PublicRequestReceipt(BaseModel):
    request_id: UUID
    acknowledge_due: str
    execute_due: str
    message: str


class IdentityVerification(Request):
    model_config = example(
        {
            "customer_id": "6f1d3c2e-8a4b-4e7f-9c0d-1a2b3c4d5e6f",
            "method": "signed-request",
        }
    )

    customer_id: UUID
    method: Literal[
        "id-document-in-person",
        "signed-request",
        "known-contact-confirmed",
        "authenticated-account",
    ]


class Acknowledgment(Request):
    model_config = example({"channel": "email"})

    channel: ContactChannel


class Extension(Request):
    model_config = example(
        {"reason": "the processor must search its archive", "days": 10}
    )

    reason: str = Field(max_length=1_000)
    days: int = Field(ge=1, le=30)


class Refusal(Request):
    model_config = example(
        {"legal_ground": "Law on Accounting 88/2015/QH13 Art 41", "told_via": "email"}
    )

    legal_ground: str = Field(
        max_length=1_000, examples=["Law on Accounting 88/2015/QH13 Art 41"]
    )
    told_via: ContactChannel


class Fulfilment(Request):
    """What fulfilling needs: corrections for rectify, a ground for erase."""

    model_config = example(
        {"corrections": {"full_name": "Nguyễn Văn Anh"}, "ground": None}
    )

    corrections: dict[str, str | None] | None = None
    ground: str | None = Field(None, max_length=500)


class RestrictionLift(Request):
    model_config = example({"reason": "the accuracy check is complete"})

    reason: str = Field(max_length=500)


class SubjectRequestView(BaseModel):
    id: UUID
    kind: str
    channel: str
    status: str
    customer_id: UUID | None
    purpose_codes: list[str]
    processors_involved: bool
    received_on: str
    acknowledge_due: str
    execute_due: str
    next_due: str
    overdue: bool
    calendar: str
    acknowledged_at: datetime | None
    verification_method: str | None
    extension: dict[str, Any] | None
    outcome: dict[str, Any] | None
    refusal: dict[str, str] | None
    closed_at: datetime | None


class SubjectRequestDetail(SubjectRequestView):
    """With the requester's own words, opened for the data protection officer."""

    requester_name: str | None
    requester_contact: str | None
    details: str | None


class FulfilmentResult(BaseModel):
    id: UUID
    position: int
    outcome: dict[str, Any]


class ComplaintIntake(Request):
    model_config = example(
        {
            "complainant_name": "Lê Văn Cường",
            "complainant_contact": "cuong@example.vn",
            "summary": "My access request was not answered",
            "request_id": None,
            "owner": "dpo-team",
            "due_on": "2026-12-31",
        }
    )

    complainant_name: str = Field(max_length=200)
    complainant_contact: str = Field(max_length=200)
    summary: str = Field(max_length=5_000)
    customer_id: UUID | None = None
    request_id: UUID | None = None
    incident_id: UUID | None = None
    owner: str | None = Field(None, max_length=200)
    due_on: date | None = None


class ComplaintAssignment(Request):
    model_config = example({"owner": "care-lead", "due_on": "2026-12-31"})

    owner: str = Field(max_length=200)
    due_on: date


class ComplaintClosure(Request):
    model_config = example({"resolution": "answered and added to the suppression list"})

    resolution: str = Field(max_length=2_000)


class ComplaintView(BaseModel):
    id: UUID
    status: str
    complainant_name: str | None
    complainant_contact: str | None
    summary: str | None
    customer_id: UUID | None
    request_id: UUID | None
    incident_id: UUID | None
    owner: str
    due_on: date
    overdue: bool
    resolution: str | None
    closed_at: datetime | None


class BreachForm(Request):
    """The fields of the authority's notification form; fill what is known."""

    model_config = example(
        {
            "occurred_at": "2026-12-01T22:00:00+07:00",
            "place": "Hà Nội office",
            "what_happened": "a sales token was used from an unknown address",
            "parties": "the firm; its hosting provider",
            "data_types": ["full name", "phone"],
            "volume": "up to 300 customers",
            "dpo_contact": "dpo@example.vn",
            "likely_consequences": "unwanted calls",
            "measures_taken": "token revoked",
        }
    )

    occurred_at: AwareDatetime | None = None
    place: str | None = Field(None, max_length=1_000)
    what_happened: str | None = Field(None, max_length=10_000)
    parties: str | None = Field(None, max_length=2_000)
    data_types: list[str] = Field(default_factory=list)
    volume: str | None = Field(None, max_length=200, examples=["about 1,200 customers"])
    dpo_contact: str | None = Field(None, max_length=200)
    likely_consequences: str | None = Field(None, max_length=5_000)
    measures_taken: str | None = Field(None, max_length=5_000)


class IncidentRegistration(Request):
    model_config = example(
        {
            "discovered_at": "2026-12-02T08:30:00+07:00",
            "form": {"what_happened": "a laptop with an export was lost"},
        }
    )

    discovered_at: AwareDatetime
    form: BreachForm | None = None


class ScopeQuery(Request):
    model_config = example(
        {
            "reader": "sales:5299878902cb4e249af92c9839d59e19",
            "window_start": "2026-12-01T00:00:00+07:00",
            "window_end": "2026-12-02T00:00:00+07:00",
        }
    )

    reader: str = Field(
        description="an actor as recorded on events (role:token_id) or a token id"
    )
    window_start: AwareDatetime
    window_end: AwareDatetime


class AuthorityNotification(Request):
    model_config = example(
        {"notified_at": "2026-12-03T10:00:00+07:00", "reference": "A05-2026-0001"}
    )

    notified_at: AwareDatetime
    reference: str = Field(max_length=200, examples=["A05-2026-0001"])


class ReadView(BaseModel):
    position: int
    at: datetime
    reader: str
    customer_id: UUID
    purpose_code: str
    fields: list[str]


class BreachScope(BaseModel):
    reader: str
    window_start: datetime
    window_end: datetime
    subject_ids: list[UUID]
    reads: list[ReadView]


class IncidentView(BaseModel):
    id: UUID
    discovered_at: datetime
    notify_by: datetime
    hours_left: float | None
    overdue: bool
    form: dict[str, Any]
    scopes: list[dict[str, Any]]
    subjects_to_notify: list[UUID]
    notified_at: datetime | None
    notification_reference: str | None
    closed_at: datetime | None


class TransferRecord(Request):
    """A cross-border transfer: the impact dossier filed for a store abroad."""

    model_config = example(
        {
            "store": "event_store",
            "region": "SG",
            "dossier_ref": "A05/TIA/2026/0012",
            "filed_on": "2026-11-30",
        }
    )

    store: Literal["event_store", "key_store", "backups"]
    region: str = Field(pattern=r"^[A-Z]{2}$", examples=["SG"])
    dossier_ref: str = Field(max_length=200, examples=["A05/TIA/2026/0012"])
    filed_on: date


class StoresView(BaseModel):
    regions: dict[str, str]
    recorded_regions: dict[str, str]
    declared_at: datetime | None
    transfers: list[dict[str, Any]]


class Suppressed(BaseModel):
    customer_id: UUID
    restricted: bool
    objected_purposes: list[str]
