"""Customers: personal fields sealed per customer, consents per purpose, erasure."""

from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from crypto_shredding.markers import DataSubject, Personal, PersonalState
from domain.errors import (
    ConsentNotGivenError,
    CustomerErasedError,
    ProcessingRestrictedError,
)
from domain.subject_requests import DSR_PURPOSE

STAGES = ("lead", "prospect", "customer", "inactive")
CHANNELS = ("web-form", "paper-form", "phone", "email", "in-person", "app")
PERSONAL_FIELDS = ("full_name", "phone", "email", "postal_address", "date_of_birth")


class Customer(Aggregate):
    """A person the firm deals with; the aggregate's id is their data subject id."""

    __personal_state__ = PersonalState(subject="originator_id", fields=PERSONAL_FIELDS)

    class Event(Aggregate.Event):
        originator_id: Annotated[UUID, DataSubject]
        actor: str

    class Registered(Event, Aggregate.Created):
        full_name: Annotated[str, Personal]
        phone: Annotated[str | None, Personal]
        email: Annotated[str | None, Personal]
        postal_address: Annotated[str | None, Personal]
        date_of_birth: Annotated[str | None, Personal]
        stage: str
        owner: str
        tags: list[str]
        jurisdiction: str
        # Added after the first release: older Registered events decode as "".
        province: str = ""

    class ConsentGiven(Event):
        purpose_code: str
        notice_version: int
        notice_sha256: str
        channel: str
        evidence_ref: str

        def apply(self, customer: "Customer") -> None:
            customer.consents[self.purpose_code] = {
                "notice_version": self.notice_version,
                "notice_sha256": self.notice_sha256,
                "channel": self.channel,
                "evidence_ref": self.evidence_ref,
                "given_by": self.actor,
                "given_at": self.timestamp.isoformat(),
                "withdrawn_at": None,
            }

    class ConsentWithdrawn(Event):
        purpose_code: str
        channel: str

        def apply(self, customer: "Customer") -> None:
            consent = customer.consents[self.purpose_code]
            consent["withdrawn_at"] = self.timestamp.isoformat()
            consent["withdrawal_channel"] = self.channel

    class AgreementRecorded(Event):
        purpose_code: str
        agreement_ref: str

        def apply(self, customer: "Customer") -> None:
            customer.agreements[self.purpose_code] = self.agreement_ref

    class ContactDetailsChanged(Event):
        phone: Annotated[str | None, Personal]
        email: Annotated[str | None, Personal]
        postal_address: Annotated[str | None, Personal]

        def apply(self, customer: "Customer") -> None:
            for field in ("phone", "email", "postal_address"):
                if getattr(self, field) is not None:
                    setattr(customer, field, getattr(self, field))

    class StageChanged(Event):
        stage: str

        def apply(self, customer: "Customer") -> None:
            customer.stage = self.stage

    class OwnerAssigned(Event):
        owner: str

        def apply(self, customer: "Customer") -> None:
            customer.owner = self.owner

    class ProvinceChanged(Event):
        province: str

        def apply(self, customer: "Customer") -> None:
            customer.province = self.province

    class ErasureRequested(Event):
        ground: str

        def apply(self, customer: "Customer") -> None:
            customer.erasure_requested = True

    class DataKeyShredded(Event):
        data_key_id: str

        def apply(self, customer: "Customer") -> None:
            customer.erased = True

    def __init__(
        self,
        full_name: Any,
        phone: Any,
        email: Any,
        postal_address: Any,
        date_of_birth: Any,
        stage: str,
        owner: str,
        tags: list[str],
        jurisdiction: str,
        province: str = "",
    ) -> None:
        # Personal fields hold ERASED once the customer's data key is shredded.
        self.full_name = full_name
        self.phone = phone
        self.email = email
        self.postal_address = postal_address
        self.date_of_birth = date_of_birth
        self.stage = stage
        self.owner = owner
        self.tags = list(tags)
        self.jurisdiction = jurisdiction
        self.province = province
        self.consents: dict[str, dict[str, Any]] = {}
        self.agreements: dict[str, str] = {}
        self.erasure_requested = False
        self.erased = False

    def give_consent(
        self,
        purpose_code: str,
        notice: dict[str, Any],
        channel: str,
        evidence_ref: str,
        actor: str,
    ) -> None:
        self.check_not_erased()
        self.trigger_event(
            self.ConsentGiven,
            purpose_code=purpose_code,
            notice_version=notice["version"],
            notice_sha256=notice["text_sha256"],
            channel=channel,
            evidence_ref=evidence_ref,
            actor=actor,
        )

    def withdraw_consent(self, purpose_code: str, channel: str, actor: str) -> None:
        self.check_not_erased()
        if not self.has_consent_for(purpose_code):
            raise ConsentNotGivenError(
                f"the customer has no consent for purpose {purpose_code!r} to withdraw"
            )
        self.trigger_event(
            self.ConsentWithdrawn,
            purpose_code=purpose_code,
            channel=channel,
            actor=actor,
        )

    def record_agreement(
        self, purpose_code: str, agreement_ref: str, actor: str
    ) -> None:
        self.check_not_erased()
        self.trigger_event(
            self.AgreementRecorded,
            purpose_code=purpose_code,
            agreement_ref=agreement_ref,
            actor=actor,
        )

    def change_contact_details(
        self,
        phone: str | None,
        email: str | None,
        postal_address: str | None,
        actor: str,
    ) -> None:
        self.check_not_erased()
        self.trigger_event(
            self.ContactDetailsChanged,
            phone=phone,
            email=email,
            postal_address=postal_address,
            actor=actor,
        )

    def change_stage(self, stage: str, actor: str) -> None:
        self.check_not_erased()
        self.trigger_event(self.StageChanged, stage=stage, actor=actor)

    def assign_owner(self, owner: str, actor: str) -> None:
        self.check_not_erased()
        self.trigger_event(self.OwnerAssigned, owner=owner, actor=actor)

    def change_province(self, province: str, actor: str) -> None:
        self.check_not_erased()
        self.trigger_event(self.ProvinceChanged, province=province, actor=actor)

    def request_erasure(self, ground: str, actor: str) -> None:
        if not self.erasure_requested:
            self.trigger_event(self.ErasureRequested, ground=ground, actor=actor)

    def record_data_key_shredded(self, data_key_id: UUID, actor: str) -> None:
        if not self.erased:
            self.trigger_event(
                self.DataKeyShredded, data_key_id=str(data_key_id), actor=actor
            )

    def has_consent_for(self, purpose_code: str) -> bool:
        consent = self.consents.get(purpose_code)
        return consent is not None and consent["withdrawn_at"] is None

    def has_basis_for(self, purpose_code: str) -> bool:
        """A live consent or a recorded agreement covers the purpose."""
        return self.has_consent_for(purpose_code) or purpose_code in self.agreements

    def purposes_with_basis(self) -> set[str]:
        consented = {code for code in self.consents if self.has_consent_for(code)}
        return consented | set(self.agreements)

    def check_not_erased(self) -> None:
        if self.erasure_requested or self.erased:
            raise CustomerErasedError

    # Data subject rights: restriction, objection and rectification (DSR-*).

    class ProcessingRestricted(Event):
        request_id: str

        def apply(self, customer: "Customer") -> None:
            customer.__dict__["restricted_by_request"] = self.request_id

    class RestrictionLifted(Event):
        reason: str

        def apply(self, customer: "Customer") -> None:
            customer.__dict__["restricted_by_request"] = None

    class ProcessingObjected(Event):
        purpose_codes: list[str]
        request_id: str

        def apply(self, customer: "Customer") -> None:
            customer.objections = sorted(
                set(customer.objections) | set(self.purpose_codes)
            )

    class PersonalDataRectified(Event):
        """Corrections that supersede the old values; None leaves a field as it was."""

        full_name: Annotated[str | None, Personal]
        phone: Annotated[str | None, Personal]
        email: Annotated[str | None, Personal]
        postal_address: Annotated[str | None, Personal]
        date_of_birth: Annotated[str | None, Personal]
        request_id: str

        def apply(self, customer: "Customer") -> None:
            for field in PERSONAL_FIELDS:
                if getattr(self, field) is not None:
                    setattr(customer, field, getattr(self, field))

    @property
    def restricted(self) -> bool:
        return self.__dict__.get("restricted_by_request") is not None

    @property
    def objections(self) -> list[str]:
        objected: list[str] = self.__dict__.get("_objections", [])
        return objected

    @objections.setter
    def objections(self, purpose_codes: list[str]) -> None:
        self.__dict__["_objections"] = list(purpose_codes)

    def restrict_processing(self, request_id: UUID, actor: str) -> None:
        self.check_not_erased()
        if not self.restricted:
            self.trigger_event(
                self.ProcessingRestricted, request_id=str(request_id), actor=actor
            )

    def lift_restriction(self, reason: str, actor: str) -> None:
        self.check_not_erased()
        if self.restricted:
            self.trigger_event(self.RestrictionLifted, reason=reason, actor=actor)

    def object_to_processing(
        self, purpose_codes: list[str], request_id: UUID, actor: str
    ) -> None:
        self.check_not_erased()
        new = sorted(set(purpose_codes) - set(self.objections))
        if new:
            self.trigger_event(
                self.ProcessingObjected,
                purpose_codes=new,
                request_id=str(request_id),
                actor=actor,
            )

    def rectify(
        self, corrections: dict[str, str | None], request_id: UUID, actor: str
    ) -> None:
        self.check_not_erased()
        self.trigger_event(
            self.PersonalDataRectified,
            **{field: corrections.get(field) for field in PERSONAL_FIELDS},
            request_id=str(request_id),
            actor=actor,
        )

    class RepresentativeConsented(Event):
        """CHILDREN: the legal representative who consented for a child."""

        purpose_code: str
        representative_name: Annotated[str, Personal]
        relationship: str
        evidence_ref: str
        child_consented: bool

        def apply(self, customer: "Customer") -> None:
            consent = customer.consents[self.purpose_code]
            consent["representative"] = {
                "relationship": self.relationship,
                "evidence_ref": self.evidence_ref,
                "child_consented": self.child_consented,
            }

    def record_representative_consent(
        self,
        purpose_code: str,
        representative: Any,
        child_consented: bool,
        actor: str,
    ) -> None:
        self.trigger_event(
            self.RepresentativeConsented,
            purpose_code=purpose_code,
            representative_name=representative.full_name,
            relationship=representative.relationship,
            evidence_ref=representative.evidence_ref,
            child_consented=child_consented,
            actor=actor,
        )

    def check_processing_allowed(self, purpose_code: str) -> None:
        check_processing_allowed(self.restricted, set(self.objections), purpose_code)


def check_processing_allowed(
    restricted: bool, objections: set[str], purpose_code: str
) -> None:
    """DSR-RESTRICT, DSR-OBJECT: a restriction blocks every use, an objection
    blocks its purposes; storage is kept either way. Serving the subject's own
    request is never blocked."""
    if purpose_code == DSR_PURPOSE:
        return
    if restricted:
        raise ProcessingRestrictedError(
            "processing of this customer's data is restricted at their request; "
            "only the data protection officer may lift the restriction"
        )
    if purpose_code in objections:
        raise ProcessingRestrictedError(
            f"the customer objected to processing for purpose {purpose_code!r}; "
            "use no personal data of theirs for it"
        )
