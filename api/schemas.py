"""The API's own request and response models (never domain event classes)."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

SHA_EXAMPLE = "5b1e0f7c2a9d4e6b8c3f1a0d7e9b2c4f6a8d0e1b3c5f7a9d2e4b6c8f0a1d3e5b"


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(body: dict[str, Any]) -> ConfigDict:
    """A request model's config with a whole example body for the OpenAPI page."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [body]})


class DataCategory(Request):
    name: str = Field(examples=["contact details"])
    sensitivity: Literal["basic", "sensitive"] = "basic"


class PurposeDefinition(Request):
    model_config = example(
        {
            "code": "marketing-email",
            "title_vi": "Gửi thư quảng cáo qua e-mail",
            "title_en": "Marketing e-mails",
            "legal_basis": "consent",
            "data_categories": [{"name": "họ tên và e-mail", "sensitivity": "basic"}],
            "retention_days": 730,
            "discloses": False,
        }
    )

    code: str = Field(examples=["marketing-email"])
    title_vi: str
    title_en: str
    legal_basis: Literal["consent", "agreement", "legal-obligation"]
    data_categories: list[DataCategory] = Field(min_length=1)
    retention_days: int = Field(ge=1, le=36_500)
    discloses: bool = Field(
        True,
        description="CHILDREN: the purpose discloses personal data to others (a "
        "recipient, a partner); then a child from 7 to 15 consents as well as the "
        "representative. Left out, it is taken as true",
    )


class NoticeText(Request):
    model_config = example(
        {
            "text_vi": "Chúng tôi dùng họ tên và e-mail của bạn để gửi ưu đãi.",
            "text_en": "We use your name and e-mail to send offers.",
        }
    )

    text_vi: str
    text_en: str
    sensitive_statement_vi: str | None = Field(
        None,
        description="SENSITIVE-DATA: required, with sensitive_statement_en, when "
        "the purpose has a sensitive data category: tells the person which "
        "sensitive data is processed and why; shown with the notice text and "
        "covered by its hash",
    )
    sensitive_statement_en: str | None = None


class Notice(BaseModel):
    version: int
    text_vi: str
    text_en: str
    text_sha256: str
    declares_sensitive: bool = Field(
        description="the notice tells the person about sensitive data"
    )
    sensitive_statement_vi: str | None
    sensitive_statement_en: str | None
    published_at: datetime


class PurposeView(BaseModel):
    code: str
    title_vi: str
    title_en: str
    legal_basis: str
    data_categories: list[DataCategory]
    retention_days: int
    sensitive: bool = Field(description="a data category is sensitive (D356 Art 4)")
    discloses: bool = Field(description="the purpose discloses data to others")
    retired: bool
    notices: list[Notice]


class Written(BaseModel):
    """What a command wrote; pass `position` as `after_position` to read it back."""

    id: UUID
    position: int


class NoticePublished(Written):
    version: int
    text_sha256: str


class Consent(Request):
    model_config = example(
        {
            "purpose_code": "marketing-email",
            "notice_version": 1,
            "notice_sha256": SHA_EXAMPLE,
            "channel": "web-form",
            "evidence_ref": "form-2026-0042",
        }
    )

    purpose_code: str
    notice_version: int = Field(ge=1)
    notice_sha256: str = Field(min_length=64, max_length=64)
    channel: Literal["web-form", "paper-form", "phone", "email", "in-person", "app"]
    evidence_ref: str = Field(examples=["signed-form-2026-0042"])
    representative: "RepresentativeConsent | None" = Field(
        None, description="CHILDREN: required when the customer is under 16"
    )
    child_consented: bool = Field(
        False, description="CHILDREN: the child (7 to 15) consented too"
    )


class RepresentativeConsent(Request):
    """The legal representative consenting for a child."""

    full_name: str = Field(max_length=200)
    relationship: Literal["parent", "guardian", "other-legal-representative"]
    evidence_ref: str = Field(max_length=200, examples=["birth-certificate-copy-17"])


class Agreement(Request):
    model_config = example(
        {"purpose_code": "customer-care", "agreement_ref": "HD-2026-118"}
    )

    purpose_code: str
    agreement_ref: str = Field(examples=["contract HD-2026-118"])


class Registration(Request):
    model_config = example(
        {
            "full_name": "Nguyễn Văn An",
            "phone": "0912 345 678",
            "email": "an@example.vn",
            "stage": "lead",
            "tags": ["hanoi"],
            "jurisdiction": "VN",
            "province": "Hà Nội",
            "consents": [
                {
                    "purpose_code": "marketing-email",
                    "notice_version": 1,
                    "notice_sha256": SHA_EXAMPLE,
                    "channel": "web-form",
                    "evidence_ref": "form-2026-0042",
                }
            ],
        }
    )

    full_name: str
    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None
    date_of_birth: str | None = Field(None, examples=["1990-04-30"])
    stage: Literal["lead", "prospect", "customer", "inactive"] = "lead"
    owner: str = ""
    tags: list[str] = Field([], examples=[["hanoi", "vip"]])
    jurisdiction: str = Field("VN", examples=["VN"])
    province: str = Field(
        "",
        examples=["Hà Nội"],
        description="in Vietnam one of the 34 provinces and cities (Resolution "
        "202/2025/QH15), elsewhere an ISO 3166-2 code; empty if unknown",
    )
    consents: list[Consent] = []
    agreements: list[Agreement] = []


class ContactDetails(Request):
    model_config = example(
        {"email": "an.nguyen@example.vn", "phone": "+84 912 345 678"}
    )

    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None


class ProfileChange(Request):
    model_config = example({"stage": "prospect", "owner": "sales-team-hanoi"})

    stage: Literal["lead", "prospect", "customer", "inactive"] | None = Field(
        None, examples=["prospect"]
    )
    owner: str | None = Field(None, examples=["sales-team-hanoi"])
    province: str | None = Field(None, examples=["Đà Nẵng"])


class Withdrawal(Request):
    model_config = example({"channel": "email"})

    channel: Literal["web-form", "paper-form", "phone", "email", "in-person", "app"]


class ErasureRequest(Request):
    model_config = example({"ground": "DSR-ERASE request 2026-0007"})

    ground: str = Field(examples=["DSR-ERASE request 2026-0007"])


class ConsentView(BaseModel):
    notice_version: int
    notice_sha256: str
    channel: str
    given_at: datetime
    withdrawn_at: datetime | None


class CustomerSummary(BaseModel):
    """A customer's non-personal fields."""

    id: UUID
    stage: str
    owner: str
    tags: list[str]
    jurisdiction: str
    province: str
    consents: dict[str, ConsentView]
    agreements: dict[str, str]
    registered_at: datetime
    updated_at: datetime


class PersonalFields(BaseModel):
    full_name: str | None
    phone: str | None
    email: str | None
    postal_address: str | None
    date_of_birth: str | None


class CustomerView(CustomerSummary):
    """A customer with personal fields opened for the purpose the caller named."""

    purpose: str
    personal: PersonalFields


SortKey = Literal[
    "id",
    "-id",
    "registered_at",
    "-registered_at",
    "updated_at",
    "-updated_at",
    "stage",
    "-stage",
    "owner",
    "-owner",
    "jurisdiction",
    "-jurisdiction",
    "province",
    "-province",
]


class CustomerQuery(BaseModel):
    """Filters, sort and page of a customer list; every filter is optional."""

    stage: Literal["lead", "prospect", "customer", "inactive"] | None = None
    owner: str | None = Field(None, max_length=200, examples=["sales-team-hanoi"])
    tag: str | None = Field(None, max_length=50, examples=["vip"])
    jurisdiction: str | None = Field(
        None, pattern="^[A-Z]{2}$", description="two-letter country code"
    )
    province: str | None = Field(None, max_length=100, examples=["Hà Nội"])
    consent_purpose: str | None = Field(
        None,
        max_length=64,
        description="with consent_state: filter by the consent for this purpose",
        examples=["marketing-email"],
    )
    consent_state: Literal["given", "withdrawn", "none"] | None = Field(
        None, description="`given` (live, the default), `withdrawn` or `none`"
    )
    sort: SortKey = Field(
        "id", description="a field to sort by; prefix `-` for descending"
    )
    cursor: str | None = Field(
        None, max_length=2_000, description="the `next_cursor` of the previous page"
    )
    limit: int = Field(50, ge=1, le=500, description="page size, at most 500")


class CustomerPage(BaseModel):
    customers: list[CustomerSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class InteractionEntry(Request):
    model_config = example({"kind": "call", "text": "Khách hỏi về gói cước mới."})

    kind: Literal["call", "meeting", "email", "note"]
    text: str
    occurred_at: datetime | None = None


class InteractionView(BaseModel):
    id: UUID
    kind: str
    text: str | None
    occurred_at: datetime
    logged_by: str


class Health(BaseModel):
    status: Literal["ok"]
    projection_position: int


class Readiness(BaseModel):
    status: Literal["ok", "failing"]
    problems: list[str] = Field(description="what is wrong, empty when ready")


class LedgerEntries(BaseModel):
    start: int = Field(description="leaf index of the first entry")
    entries: list[str] = Field(description="canonical JSON, exactly the hashed bytes")


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    entry: str = Field(description="the entry, exactly the hashed bytes")
    hashes: list[str] = Field(description="the RFC 9162 inclusion path, base64")
    ledger_checkpoint: str = Field(description="the signed note at tree_size")
    receipt: str = Field(description="the same proof as a C2SP tlog-proof")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="the RFC 9162 consistency path, base64")


class ErasureStep(BaseModel):
    by: str
    at: datetime
    position: int = Field(description="the event's notification id (ledger position)")
    originator_version: int


class ErasureLedgerProof(BaseModel):
    status: Literal["included", "pending"]
    detail: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None
    entry: str | None = Field(None, description="the ledger entry of the shredding")
    receipt: str | None = Field(None, description="a C2SP tlog-proof of that entry")


class ErasureCertificate(BaseModel):
    """Proof of an erasure; it holds ids, times and proofs, never personal data."""

    format: str
    subject_id: UUID
    data_key_id: UUID
    ground: str
    requested: ErasureStep
    shredded: ErasureStep
    data_key_destroyed_at: datetime
    issued_at: datetime
    ledger: ErasureLedgerProof


class ReplayedConsent(BaseModel):
    notice_version: int
    notice_sha256: str
    channel: str
    evidence_ref: str
    given_by: str
    given_at: datetime
    withdrawn_at: datetime | None


class ReplayedCustomer(BaseModel):
    """A customer's state at `as_of`, replayed from events."""

    id: UUID
    as_of: datetime = Field(
        description="the moment asked for, or the time of the customer's last "
        "event at or before as_of_position"
    )
    as_of_position: int | None = Field(
        None, description="the notification position asked for, if one was"
    )
    version: int = Field(description="how many of the customer's events it reflects")
    stage: str
    owner: str
    tags: list[str]
    jurisdiction: str
    consents: dict[str, ReplayedConsent]
    agreements: dict[str, str]
    erasure_requested: bool
    erased: bool
    personal: PersonalFields | None = Field(
        None, description="for the dpo only; null for auditors"
    )


class StatisticsGroup(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    value: str
    count: int | None = Field(description="null when the group is too small to show")


class StatisticsConsentRate(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    purpose_code: str
    rate: float | None = Field(description="null when too few have or lack consent")


class CustomerStatistics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    min_group: int
    customers: int | None
    by_stage: list[StatisticsGroup]
    by_owner: list[StatisticsGroup]
    by_jurisdiction: list[StatisticsGroup]
    by_province: list[StatisticsGroup]
    consent_rates: list[StatisticsConsentRate]
    interactions_by_week: list[StatisticsGroup]


class ConsentChangeView(BaseModel):
    """One consent event: what changed, against which notice, how, by whom."""

    change: str = Field(
        examples=["given"], description="given, withdrawn or agreement-recorded"
    )
    notice_version: int | None
    notice_sha256: str | None
    channel: str | None
    evidence_ref: str | None
    agreement_ref: str | None
    actor: str = Field(description="who recorded it, as role:token id")
    at: datetime
    position: int = Field(description="the event's notification id (ledger position)")


class EffectiveConsentView(BaseModel):
    purpose_code: str
    state: str = Field(
        examples=["given"], description="given, withdrawn, agreed or erased"
    )
    live: bool = Field(description="true while the basis lets the firm use the data")
    since: datetime
    history: list[ConsentChangeView]


class CustomerConsents(BaseModel):
    customer_id: UUID
    purposes: list[EffectiveConsentView]


class ContactableCustomers(BaseModel):
    purpose_code: str
    customer_ids: list[UUID]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class TimelineEntryView(BaseModel):
    position: int = Field(description="the event's notification id (ledger position)")
    event_type: str = Field(examples=["Customer.ConsentGiven"])
    actor: str
    recorded_at: datetime
    details: dict[str, Any] = Field(description="the event's non-personal values")
    personal_fields: list[str] = Field(
        description="names of the personal values the event holds (sealed)"
    )
    personal: dict[str, str | None] | None = Field(
        None, description="those values, opened only when a purpose was named"
    )


class Timeline(BaseModel):
    customer_id: UUID
    purpose: str | None
    entries: list[TimelineEntryView]
    next_cursor: str | None


class ExportQuery(CustomerQuery):
    limit: int = Field(1_000, ge=1, le=10_000, description="rows, at most 10,000")


PersonalField = Literal[
    "full_name", "phone", "email", "postal_address", "date_of_birth"
]


class PersonalExport(Request):
    """NO-SALE: who receives the personal fields, under which agreement and basis."""

    model_config = example(
        {
            "purpose": "customer-care",
            "recipient": "Công ty TNHH Giao Nhận Nhanh",
            "agreement_ref": "DPA-2026-014",
            "basis": "agreement",
            "fields": ["full_name", "postal_address"],
            "query": {"province": "Hà Nội", "limit": 500},
        }
    )

    purpose: str = Field(examples=["customer-care"])
    recipient: str = Field(
        max_length=200,
        description="the receiving organisation, never a person's name",
        examples=["Công ty TNHH Giao Nhận Nhanh (courier)"],
    )
    agreement_ref: str = Field(
        max_length=200,
        description="the data processing or sharing agreement",
        examples=["DPA-2026-014"],
    )
    basis: Literal["consent", "agreement", "legal-obligation"] = Field(
        examples=["agreement"]
    )
    fields: list[PersonalField] = Field(
        min_length=1, max_length=5, examples=[["full_name", "postal_address"]]
    )
    query: ExportQuery = Field(
        default_factory=ExportQuery,  # type: ignore[arg-type]
        description="which customers: the filters of GET /v1/customers",
    )
    after_position: int | None = Field(None, ge=0)

    @field_validator("fields")
    @classmethod
    def _each_field_once(cls, fields: list[str]) -> list[str]:
        if len(set(fields)) != len(fields):
            raise ValueError("name each personal field once")
        return fields


class CustomerSearch(Request):
    """Exactly one of phone, email or name; values travel in the body, never in
    the URL, so that no access log or proxy records them."""

    model_config = example({"name": "nguyen thi", "after_position": 12})

    phone: str | None = Field(None, max_length=40, examples=["0912 345 678"])
    email: str | None = Field(None, max_length=254, examples=["an@example.vn"])
    name: str | None = Field(
        None,
        max_length=200,
        description="every word must occur in the full name; case and "
        "Vietnamese diacritics are ignored",
        examples=["nguyen thi"],
    )
    after_position: int | None = Field(
        None, ge=0, description="wait until the read side has applied this position"
    )


class CustomerMatches(BaseModel):
    customers: list[CustomerSummary] = Field(
        description="at most 100 customers, in id order, without personal fields"
    )
