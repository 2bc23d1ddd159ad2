"""The CRM application service: every command checks its rules, then records events."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    Repository,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, Transcoder
from eventsourcing.utils import get_topic

from domain import validation as valid
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.children import RELATIONSHIPS, Representative, check_child_consent
from domain.customer import CHANNELS, STAGES, Customer
from domain.errors import (
    CustomerNotFoundError,
    DomainError,
    InteractionNotFoundError,
    InvalidValueError,
    NoBasisError,
    NoticeMismatchError,
    PurposeExistsError,
    PurposeNotFoundError,
    WrongBasisError,
)
from domain.interaction import KINDS, Interaction
from domain.purpose import LEGAL_BASES, SENSITIVITIES, Purpose, purpose_id
from domain.working_days import vietnam_date

ROLES = ("admin", "sales", "manager", "auditor", "dpo")
NO_BASIS = (
    "personal data may be stored only while a consent or an agreement covers an "
    "active purpose; capture the customer's consent to a published notice or record "
    "the agreement first"
)
BASIS_ADVICE = {
    "consent": "capture the customer's consent instead",
    "agreement": "record the agreement reference instead",
    "legal-obligation": "it cannot yet be the basis for storing a customer's data; "
    "use a purpose resting on consent or an agreement",
}


@dataclass(frozen=True)
class Actor:
    """Who issued a command; recorded on every event as "role:user_id"."""

    user_id: str
    role: str

    def __str__(self) -> str:
        return f"{self.role}:{self.user_id}"


@dataclass(frozen=True)
class PersonalDetails:
    full_name: str
    phone: str | None = None
    email: str | None = None
    postal_address: str | None = None
    date_of_birth: str | None = None


@dataclass(frozen=True)
class ConsentCapture:
    """A consent as captured: against which notice, how, and with what evidence."""

    purpose_code: str
    notice_version: int
    notice_sha256: str
    channel: str
    evidence_ref: str
    # CHILDREN: who consents for a customer under 16, and whether the child did.
    representative: "Representative | dict[str, str] | None" = None
    child_consented: bool = False


@dataclass(frozen=True)
class AgreementCapture:
    purpose_code: str
    agreement_ref: str


@dataclass(frozen=True)
class PersonalDataRead:
    """Who read which personal fields of which customer, for what."""

    actor: Actor
    customer_id: UUID
    purpose_code: str
    fields: list[str]


@dataclass(frozen=True)
class PersonalDataDisclosure:
    """Personal fields of some customers handed to a recipient under an agreement."""

    purpose_code: str
    recipient: str
    agreement_ref: str
    basis: str
    fields: list[str]
    customer_ids: list[UUID]


@dataclass(frozen=True)
class Written:
    """What a command wrote: the aggregate's id and the last notification id."""

    id: UUID
    position: int


@dataclass(frozen=True)
class CustomerProfile:
    stage: str = "lead"
    owner: str = ""
    tags: list[str] = field(default_factory=list)
    jurisdiction: str = "VN"
    province: str = ""


class Registration(NamedTuple):
    """One customer to register: what `CRM.register_customer` takes."""

    details: PersonalDetails
    profile: CustomerProfile
    consents: Sequence[ConsentCapture] = ()
    agreements: Sequence[AgreementCapture] = ()


class ShreddedDataKey(Protocol):
    @property
    def data_key_id(self) -> UUID: ...


class PersonalDataKeys(Protocol):
    """The crypto-shredding port: seals personal fields, shreds a subject's key."""

    def mapper(self, transcoder: Transcoder) -> Mapper[UUID]: ...

    def shred(self, subject_id: UUID, reason: str) -> ShreddedDataKey: ...


class CRM(Application[UUID]):
    """Purposes, customers, consents and interactions, as append-only events."""

    name = "ledgercrm"
    # Loading a customer (as erasure does) reads the last snapshot and at most 99
    # events, however long the history; snapshots are sealed like events.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Customer: 100}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The name fixes the table names: every subclass must use the same tables.
        super().__init_subclass__(**kwargs)
        cls.name = CRM.name

    # Purposes are read on every purpose-bound read of personal data. This many
    # stay decoded in memory; each get still asks the event store for the events
    # after the cached version (eventsourcing's fast-forward), so a purpose retired
    # by another process is seen at once.
    purposes_cached = 1_000

    def __init__(
        self, env: dict[str, str] | None = None, *, personal_data: PersonalDataKeys
    ) -> None:
        self.personal_data = personal_data
        super().__init__(env)
        self._purposes: Repository[UUID] = Repository(
            self.events, cache_maxsize=self.purposes_cached, fastforward=True
        )

    def construct_mapper(self) -> Mapper[UUID]:
        return self.personal_data.mapper(self.construct_transcoder())

    # Purposes

    def define_purpose(
        self,
        actor: Actor,
        code: str,
        title_vi: str,
        title_en: str,
        legal_basis: str,
        data_categories: Sequence[tuple[str, str]],
        retention_days: int,
        discloses: bool = True,
    ) -> Written:
        """Defines a purpose; `discloses` says whether its data goes to others
        (CHILDREN), and is assumed where a caller does not say."""
        code = _purpose_code(code)
        valid.one_of("legal_basis", legal_basis, LEGAL_BASES)
        if retention_days < 1:
            raise InvalidValueError("retention_days", "must be at least 1 day")
        if purpose_id(code) in self.repository:
            raise PurposeExistsError(
                f"a purpose with code {code!r} exists; choose another code"
            )
        purpose = Purpose._create(
            Purpose.Defined,
            id=purpose_id(code),
            code=code,
            title_vi=valid.text("title_vi", title_vi),
            title_en=valid.text("title_en", title_en),
            legal_basis=legal_basis,
            data_categories=_data_categories(data_categories),
            retention_days=retention_days,
            discloses=bool(discloses),
            actor=str(actor),
        )
        return self._save(purpose)

    def publish_notice(
        self,
        actor: Actor,
        code: str,
        text_vi: str,
        text_en: str,
        sensitive_statement_vi: str | None = None,
        sensitive_statement_en: str | None = None,
    ) -> tuple[int, Written]:
        """Publishes a notice; a purpose with a sensitive data category needs the
        statement telling the person about it, in both languages (SENSITIVE-DATA)."""
        purpose = self.purpose(code)
        version = purpose.publish_notice(
            valid.text("text_vi", text_vi, max_length=20_000),
            valid.text("text_en", text_en, max_length=20_000),
            str(actor),
            _sensitive_statement(sensitive_statement_vi, sensitive_statement_en),
        )
        return version, self._save(purpose)

    def retire_purpose(self, actor: Actor, code: str) -> Written:
        purpose = self.purpose(code)
        purpose.retire(str(actor))
        return self._save(purpose)

    def purpose(self, code: str) -> Purpose:
        """The purpose as now recorded: a copy, which a command may change."""
        try:
            purpose: Purpose = self._purposes.get(purpose_id(code))
        except AggregateNotFoundError:
            raise PurposeNotFoundError(code) from None
        return purpose

    def purposes(self) -> list[Purpose]:
        defined = self.recorder.select_notifications(
            start=None, limit=10_000, topics=[get_topic(Purpose.Defined)]
        )
        return [self._purposes.get(UUID(str(n.originator_id))) for n in defined]

    # Customers

    def register_customer(
        self,
        actor: Actor,
        details: PersonalDetails,
        profile: CustomerProfile,
        consents: Sequence[ConsentCapture] = (),
        agreements: Sequence[AgreementCapture] = (),
    ) -> Written:
        customer = self._new_customer(actor, details, profile, consents, agreements)
        return self._save(customer)

    def register_customers(
        self, actor: Actor, registrations: Sequence[Registration]
    ) -> list[Written | DomainError]:
        """Registers many customers in one transaction, each under every rule of
        `register_customer`; a registration that breaks a rule is left out and
        answered with its error, in the place of its Written."""
        outcomes: list[Customer | DomainError] = []
        purposes: dict[str, Purpose] = {}  # read once per batch, not per customer

        def purpose(code: str) -> Purpose:
            if code not in purposes:
                purposes[code] = self.purpose(code)
            return purposes[code]

        for registration in registrations:
            try:
                outcomes.append(self._new_customer(actor, *registration, purpose))
            except DomainError as error:
                outcomes.append(error)
        customers = [c for c in outcomes if isinstance(c, Customer)]
        positions = self._save_many(customers) if customers else {}
        return [
            Written(c.id, positions[c.id]) if isinstance(c, Customer) else c
            for c in outcomes
        ]

    def _new_customer(
        self,
        actor: Actor,
        details: PersonalDetails,
        profile: CustomerProfile,
        consents: Sequence[ConsentCapture] = (),
        agreements: Sequence[AgreementCapture] = (),
        purpose: Callable[[str], Purpose] | None = None,
    ) -> Customer:
        personal = _valid_personal_details(details)
        jurisdiction = valid.jurisdiction(profile.jurisdiction)
        customer = Customer._create(
            Customer.Registered,
            **personal,  # type: ignore[arg-type]
            stage=valid.one_of("stage", profile.stage, STAGES),
            owner=valid.text("owner", profile.owner) if profile.owner else "",
            tags=valid.tags(profile.tags),
            jurisdiction=jurisdiction,
            province=valid.province(profile.province, jurisdiction),
            actor=str(actor),
        )
        if not (consents or agreements):
            raise NoBasisError(NO_BASIS)
        # Capturing checks each purpose is active, so a captured basis holds.
        self._capture_bases(actor, customer, consents, agreements, purpose)
        return customer

    def give_consent(
        self, actor: Actor, customer_id: UUID, consent: ConsentCapture
    ) -> Written:
        customer = self.customer(customer_id)
        self._capture_bases(actor, customer, [consent], [])
        return self._save(customer)

    def record_agreement(
        self, actor: Actor, customer_id: UUID, agreement: AgreementCapture
    ) -> Written:
        customer = self.customer(customer_id)
        self._capture_bases(actor, customer, [], [agreement])
        return self._save(customer)

    def withdraw_consent(
        self, actor: Actor, customer_id: UUID, purpose_code: str, channel: str
    ) -> Written:
        customer = self.customer(customer_id)
        customer.withdraw_consent(
            purpose_code, valid.one_of("channel", channel, CHANNELS), str(actor)
        )
        return self._save(customer)

    def change_contact_details(
        self,
        actor: Actor,
        customer_id: UUID,
        phone: str | None = None,
        email: str | None = None,
        postal_address: str | None = None,
    ) -> Written:
        customer = self.customer(customer_id)
        self.check_basis_before_collection(customer)
        customer.change_contact_details(
            valid.phone(phone),
            valid.email(email),
            valid.optional_text("postal_address", postal_address, max_length=500),
            str(actor),
        )
        return self._save(customer)

    def change_stage(self, actor: Actor, customer_id: UUID, stage: str) -> Written:
        customer = self.customer(customer_id)
        customer.change_stage(valid.one_of("stage", stage, STAGES), str(actor))
        return self._save(customer)

    def assign_owner(self, actor: Actor, customer_id: UUID, owner: str) -> Written:
        customer = self.customer(customer_id)
        customer.assign_owner(valid.text("owner", owner), str(actor))
        return self._save(customer)

    def change_province(
        self, actor: Actor, customer_id: UUID, province: str
    ) -> Written:
        customer = self.customer(customer_id)
        province = valid.province(province, customer.jurisdiction)
        customer.change_province(province, str(actor))
        return self._save(customer)

    def customer(self, customer_id: UUID) -> Customer:
        """The customer, erased ones included: their personal fields read ERASED."""
        try:
            customer: Customer = self.repository.get(customer_id)
        except AggregateNotFoundError:
            raise CustomerNotFoundError from None
        if not isinstance(customer, Customer):
            raise CustomerNotFoundError
        return customer

    def customer_as_of(self, customer_id: UUID, as_of: datetime) -> Customer:
        """The customer as they stood at `as_of`, replayed from their events."""
        customer: Customer | None = None
        events: Iterator[Any] = self.events.get(customer_id)
        for event in events:
            if event.timestamp > as_of:
                break
            customer = event.mutate(customer)
        if not isinstance(customer, Customer):
            raise CustomerNotFoundError
        return customer

    def customer_at_version(self, customer_id: UUID, version: int) -> Customer:
        """The customer after their first `version` events, replayed."""
        if version < 1:
            raise CustomerNotFoundError
        try:
            customer: Any = self.repository.get(customer_id, version=version)
        except AggregateNotFoundError:
            raise CustomerNotFoundError from None
        if not isinstance(customer, Customer):
            raise CustomerNotFoundError
        return customer

    def erase_customer(self, actor: Actor, customer_id: UUID, ground: str) -> Written:
        """Records the request, shreds the data key, then records the shredding.

        Running it again after a crash finishes whatever step was left.
        """
        customer = self.customer(customer_id)
        customer.request_erasure(valid.text("ground", ground), str(actor))
        self._save(customer)
        shredded = self.personal_data.shred(customer_id, reason=ground)
        customer.record_data_key_shredded(shredded.data_key_id, str(actor))
        return self._save(customer)

    def record_personal_data_read(
        self, actor: Actor, customer_id: UUID, purpose_code: str, fields: list[str]
    ) -> Written:
        """PROCESSING-LOG: a read of personal fields, recorded before it is served."""
        [written] = self.record_personal_data_reads(
            [PersonalDataRead(actor, customer_id, purpose_code, fields)]
        )
        return written

    def record_personal_data_reads(
        self, reads: Sequence[PersonalDataRead]
    ) -> list[Written]:
        """Several reads recorded in one transaction, each its own event."""
        accesses = [
            PersonalDataAccess._create(
                PersonalDataAccess.Recorded,
                customer_id=read.customer_id,
                purpose_code=read.purpose_code,
                fields=sorted(read.fields),
                actor=str(read.actor),
            )
            for read in reads
        ]
        recordings = self.save(*accesses)
        positions = {
            r.domain_event.originator_id: r.notification.id for r in recordings
        }
        return [Written(a.id, positions[a.id]) for a in accesses]

    def record_personal_data_export(
        self, actor: Actor, export: PersonalDataDisclosure
    ) -> Written:
        """NO-SALE: a bulk export of personal fields, with recipient and basis."""
        recorded = PersonalDataExport._create(
            PersonalDataExport.Recorded,
            purpose_code=export.purpose_code,
            recipient=valid.text("recipient", export.recipient),
            agreement_ref=valid.text("agreement_ref", export.agreement_ref),
            basis=valid.one_of("basis", export.basis, LEGAL_BASES),
            fields=sorted(export.fields),
            customer_ids=list(export.customer_ids),
            actor=str(actor),
        )
        return self._save(recorded)

    # Interactions

    def log_interaction(
        self,
        actor: Actor,
        customer_id: UUID,
        kind: str,
        text: str,
        occurred_at: datetime | None = None,
    ) -> Written:
        customer = self.customer(customer_id)
        customer.check_not_erased()
        self.check_basis_before_collection(customer)
        interaction = Interaction._create(
            Interaction.Logged,
            customer_id=customer_id,
            kind=valid.one_of("kind", kind, KINDS),
            text=valid.text("text", text, max_length=valid.MAX_TEXT),
            occurred_at=occurred_at or datetime.now(UTC),
            actor=str(actor),
        )
        return self._save(interaction)

    def interaction(self, interaction_id: UUID) -> Interaction:
        try:
            interaction: Interaction = self.repository.get(interaction_id)
        except AggregateNotFoundError:
            raise InteractionNotFoundError from None
        if not isinstance(interaction, Interaction):
            raise InteractionNotFoundError
        return interaction

    # Rules

    def check_basis_before_collection(self, customer: Customer) -> None:
        """BASIS-BEFORE-COLLECTION: a consent or agreement covers an active purpose."""
        for code in sorted(customer.purposes_with_basis()):
            if not self.purpose(code).retired:
                return
        raise NoBasisError(NO_BASIS)

    def check_basis_for(self, customer: Customer, purpose_code: str) -> None:
        """PURPOSE-LIMITATION: personal data is read only for a purpose with a basis."""
        customer.check_not_erased()
        purpose = self.purpose(purpose_code)
        if purpose.retired or not customer.has_basis_for(purpose_code):
            raise NoBasisError(
                f"no consent or agreement of this customer covers purpose "
                f"{purpose_code!r}; name a purpose the customer agreed to"
            )

    def _capture_bases(
        self,
        actor: Actor,
        customer: Customer,
        consents: Sequence[ConsentCapture],
        agreements: Sequence[AgreementCapture],
        purpose: Callable[[str], Purpose] | None = None,
    ) -> None:
        purpose = purpose or self.purpose
        for consent in consents:
            consented_to = purpose(consent.purpose_code)
            notice = self._consented_notice(consent, consented_to)
            channel = valid.one_of("channel", consent.channel, CHANNELS)
            evidence = valid.text("evidence_ref", consent.evidence_ref)
            representative = _representative(consent.representative)
            check_child_consent(
                customer.date_of_birth,
                representative,
                consent.child_consented,
                vietnam_date(datetime.now(UTC)),
                discloses=consented_to.discloses,
            )
            customer.give_consent(
                consent.purpose_code, notice, channel, evidence, str(actor)
            )
            if representative is not None:
                customer.record_representative_consent(
                    consent.purpose_code,
                    representative,
                    consent.child_consented,
                    str(actor),
                )
        for agreement in agreements:
            agreed = self._check_purpose_basis(
                purpose(agreement.purpose_code), "agreement"
            )
            agreed.check_sensitive_processing_declared(agreed.latest_notice)
            reference = valid.text("agreement_ref", agreement.agreement_ref)
            customer.record_agreement(agreement.purpose_code, reference, str(actor))

    def _consented_notice(
        self, consent: ConsentCapture, purpose: Purpose
    ) -> dict[str, Any]:
        """CONSENT-INFORMED: the consent names a published notice and its exact
        text, which for a sensitive purpose tells about the sensitive data."""
        self._check_purpose_basis(purpose, "consent")
        notice = purpose.notice(consent.notice_version)
        if notice is None:
            raise NoticeMismatchError(
                f"purpose {purpose.code!r} has no published notice version "
                f"{consent.notice_version}; capture consent against a published one"
            )
        if notice["text_sha256"] != consent.notice_sha256:
            raise NoticeMismatchError(
                f"notice_sha256 does not match the text of notice version "
                f"{consent.notice_version} of {purpose.code!r}; show the customer the "
                "published text and send its hash"
            )
        purpose.check_sensitive_processing_declared(notice)
        return notice

    def _check_purpose_basis(self, purpose: Purpose, basis: str) -> Purpose:
        code = purpose.code
        purpose.check_active()
        if purpose.legal_basis != basis:
            raise WrongBasisError(
                f"purpose {code!r} rests on {purpose.legal_basis}, not {basis}; "
                + BASIS_ADVICE[purpose.legal_basis]
            )
        return purpose

    def _save_many(self, aggregates: Sequence[Aggregate]) -> dict[UUID, int]:
        """Saves in one transaction; each aggregate's id with its last position."""
        positions: dict[UUID, int] = {}
        for recording in self.save(*aggregates):
            positions[recording.domain_event.originator_id] = recording.notification.id
        return positions

    def _save(self, aggregate: Aggregate) -> Written:
        recordings = self.save(aggregate)
        if not recordings:  # nothing new: a repeated, already completed command
            return Written(aggregate.id, self.recorder.max_notification_id() or 0)
        return Written(aggregate.id, recordings[-1].notification.id)


def _representative(
    given: "Representative | dict[str, str] | None",
) -> Representative | None:
    if given is None:
        return None
    if isinstance(given, dict):
        given = Representative(**given)
    return Representative(
        valid.text("representative.full_name", given.full_name),
        valid.one_of("representative.relationship", given.relationship, RELATIONSHIPS),
        valid.text("representative.evidence_ref", given.evidence_ref),
    )


def _sensitive_statement(
    statement_vi: str | None, statement_en: str | None
) -> tuple[str, str] | None:
    if statement_vi is None and statement_en is None:
        return None
    if statement_vi is None or statement_en is None:
        missing = "en" if statement_en is None else "vi"
        raise InvalidValueError(
            f"sensitive_statement_{missing}",
            "the sensitive data statement is needed in both languages",
        )
    return (
        valid.text("sensitive_statement_vi", statement_vi, max_length=5_000),
        valid.text("sensitive_statement_en", statement_en, max_length=5_000),
    )


def _purpose_code(code: str) -> str:
    allowed = code.replace("-", "").replace("_", "")
    if not (code and allowed.isascii() and allowed.isalnum() and code.islower()):
        raise InvalidValueError(
            "code",
            "must be lower-case letters, digits and dashes, like marketing-email",
        )
    if len(code) > 64:
        raise InvalidValueError("code", "must be at most 64 characters")
    return code


def _data_categories(categories: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    if not categories:
        raise InvalidValueError("data_categories", "must name at least one category")
    return [
        {
            "name": valid.text("data_categories", name, max_length=100),
            "sensitivity": valid.one_of("sensitivity", sensitivity, SENSITIVITIES),
        }
        for name, sensitivity in categories
    ]


def _valid_personal_details(details: PersonalDetails) -> dict[str, str | None]:
    return {
        "full_name": valid.text("full_name", details.full_name),
        "phone": valid.phone(details.phone),
        "email": valid.email(details.email),
        "postal_address": valid.optional_text(
            "postal_address", details.postal_address, max_length=500
        ),
        "date_of_birth": valid.date_of_birth(details.date_of_birth),
    }
