"""The API's own request and response models (never domain event classes)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataCategory(Request):
    name: str = Field(examples=["contact details"])
    sensitivity: Literal["basic", "sensitive"] = "basic"


class PurposeDefinition(Request):
    code: str = Field(examples=["marketing-email"])
    title_vi: str
    title_en: str
    legal_basis: Literal["consent", "agreement", "legal-obligation"]
    data_categories: list[DataCategory] = Field(min_length=1)
    retention_days: int = Field(ge=1, le=36_500)


class NoticeText(Request):
    text_vi: str
    text_en: str


class Notice(BaseModel):
    version: int
    text_vi: str
    text_en: str
    text_sha256: str
    published_at: datetime


class PurposeView(BaseModel):
    code: str
    title_vi: str
    title_en: str
    legal_basis: str
    data_categories: list[DataCategory]
    retention_days: int
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
    purpose_code: str
    agreement_ref: str = Field(examples=["contract HD-2026-118"])


class Registration(Request):
    full_name: str
    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None
    date_of_birth: str | None = Field(None, examples=["1990-04-30"])
    stage: Literal["lead", "prospect", "customer", "inactive"] = "lead"
    owner: str = ""
    tags: list[str] = []
    jurisdiction: str = "VN"
    consents: list[Consent] = []
    agreements: list[Agreement] = []


class ContactDetails(Request):
    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None


class ProfileChange(Request):
    stage: Literal["lead", "prospect", "customer", "inactive"] | None = None
    owner: str | None = None


class Withdrawal(Request):
    channel: Literal["web-form", "paper-form", "phone", "email", "in-person", "app"]


class ErasureRequest(Request):
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


class CustomerPage(BaseModel):
    customers: list[CustomerSummary]
    next_after: UUID | None = Field(
        description="pass as `after` for the next page; null on the last page"
    )


class InteractionEntry(Request):
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
    as_of: datetime
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
    consent_rates: list[StatisticsConsentRate]
    interactions_by_week: list[StatisticsGroup]
