"""Registering a customer: a basis first, an informed consent, valid values."""

import dataclasses
import unicodedata
from typing import Any

import pytest

from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    Customer,
    CustomerProfile,
    Interaction,
    PersonalDetails,
    Purpose,
)
from domain.errors import (
    InvalidValueError,
    NoBasisError,
    NoticeMismatchError,
    PurposeRetiredError,
    WrongBasisError,
)


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_registration_without_consent_or_agreement_is_refused(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    before = crm.recorder.max_notification_id()

    with pytest.raises(NoBasisError, match="capture the customer's consent"):
        crm.register_customer(sales, details, CustomerProfile())

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_registration_with_consent_is_recorded(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    written = crm.register_customer(sales, details, CustomerProfile(), [newsletter])

    customer = crm.customer(written.id)
    assert customer.full_name == details.full_name
    assert customer.has_consent_for("newsletter")
    assert customer.consents["newsletter"]["evidence_ref"] == "form-newsletter-1"
    assert written.position == crm.recorder.max_notification_id()


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_registration_with_agreement_is_recorded(
    crm: CRM, sales: Actor, details: PersonalDetails, delivery: AgreementCapture
) -> None:
    written = crm.register_customer(
        sales, details, CustomerProfile(), agreements=[delivery]
    )

    customer = crm.customer(written.id)
    assert customer.agreements == {"order-delivery": "HĐ-order-delivery-001"}
    crm.check_basis_for(customer, "order-delivery")


@pytest.mark.requirement("CONSENT-INFORMED")
def test_consent_to_an_unpublished_notice_version_is_refused(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    unpublished = dataclasses.replace(newsletter, notice_version=2)
    before = crm.recorder.max_notification_id()

    with pytest.raises(NoticeMismatchError, match="no published notice version 2"):
        crm.register_customer(sales, details, CustomerProfile(), [unpublished])

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CONSENT-INFORMED")
def test_consent_to_another_notice_text_is_refused(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    other_text = dataclasses.replace(newsletter, notice_sha256="0" * 64)
    before = crm.recorder.max_notification_id()

    with pytest.raises(NoticeMismatchError, match="notice_sha256 does not match"):
        crm.register_customer(sales, details, CustomerProfile(), [other_text])

    assert crm.recorder.max_notification_id() == before


def test_consent_to_a_retired_purpose_is_refused(
    crm: CRM,
    admin: Actor,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
) -> None:
    crm.retire_purpose(admin, "newsletter")
    before = crm.recorder.max_notification_id()

    with pytest.raises(PurposeRetiredError, match="define a new purpose"):
        crm.register_customer(sales, details, CustomerProfile(), [newsletter])

    assert crm.recorder.max_notification_id() == before


def test_consent_to_a_purpose_resting_on_agreement_is_refused(
    crm: CRM,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
    delivery: AgreementCapture,
) -> None:
    consent = dataclasses.replace(newsletter, purpose_code=delivery.purpose_code)

    with pytest.raises(WrongBasisError, match="record the agreement reference"):
        crm.register_customer(sales, details, CustomerProfile(), [consent])


def test_agreement_for_a_purpose_resting_on_consent_is_refused(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    agreement = AgreementCapture("newsletter", "HĐ-2026-001")

    with pytest.raises(WrongBasisError, match="capture the customer's consent"):
        crm.register_customer(sales, details, CustomerProfile(), agreements=[agreement])


INVALID_VALUES = [
    ("details", "phone", "12345"),
    ("details", "email", "lan.nguyen@"),
    ("details", "date_of_birth", "30/04/1990"),
    ("details", "date_of_birth", "1990-02-30"),
    ("details", "date_of_birth", "2999-01-01"),
    ("details", "date_of_birth", "19900430"),
    ("details", "full_name", "   "),
    ("profile", "jurisdiction", "VNM"),
    ("profile", "jurisdiction", "ZZ"),
    ("profile", "stage", "vip"),
    ("consent", "channel", "fax"),
]


@pytest.mark.parametrize(("part", "field", "value"), INVALID_VALUES)
def test_invalid_value_is_refused_naming_its_field(
    crm: CRM,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
    part: str,
    field: str,
    value: str,
) -> None:
    parts: dict[str, Any] = {
        "details": details,
        "profile": CustomerProfile(),
        "consent": newsletter,
    }
    parts[part] = dataclasses.replace(parts[part], **{field: value})
    before = crm.recorder.max_notification_id()

    with pytest.raises(InvalidValueError) as refused:
        crm.register_customer(
            sales, parts["details"], parts["profile"], [parts["consent"]]
        )

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert crm.recorder.max_notification_id() == before


@pytest.mark.parametrize("phone", ["0912 345 678", "+44 20 7946 0958"])
def test_vietnamese_and_international_phones_are_accepted(
    crm: CRM,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
    phone: str,
) -> None:
    details = dataclasses.replace(details, phone=phone)

    written = crm.register_customer(sales, details, CustomerProfile(), [newsletter])

    assert crm.customer(written.id).phone == phone


def test_text_is_kept_as_given_in_nfc(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    decomposed = unicodedata.normalize("NFD", "  Phạm Thị Hương  ")
    address = unicodedata.normalize("NFD", "5 Đường Trần Hưng Đạo, Huế")
    details = dataclasses.replace(details, full_name=decomposed, postal_address=address)

    written = crm.register_customer(sales, details, CustomerProfile(), [newsletter])

    customer = crm.customer(written.id)
    assert customer.full_name == unicodedata.normalize("NFC", decomposed)
    assert customer.full_name != decomposed
    assert customer.full_name.startswith("  ")
    assert customer.postal_address == unicodedata.normalize("NFC", address)


def test_profile_is_recorded_with_jurisdiction_upper_cased(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> None:
    profile = CustomerProfile("prospect", "u-17", ["vip", "hà-nội"], "vn")

    written = crm.register_customer(sales, details, profile, [newsletter])

    customer = crm.customer(written.id)
    assert (customer.stage, customer.owner) == ("prospect", "u-17")
    assert customer.tags == ["vip", "hà-nội"]
    assert customer.jurisdiction == "VN"


def test_every_event_records_its_actor_as_role_and_user_id(
    crm: CRM,
    admin: Actor,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
    delivery: AgreementCapture,
) -> None:
    dpo = Actor("u-dpo", "dpo")
    customer_id = crm.register_customer(
        sales, details, CustomerProfile(), [newsletter]
    ).id
    crm.record_agreement(sales, customer_id, delivery)
    crm.change_contact_details(sales, customer_id, email="lan@example.vn")
    crm.change_stage(sales, customer_id, "customer")
    crm.assign_owner(admin, customer_id, "u-18")
    crm.log_interaction(sales, customer_id, "note", "Gọi lại sau")
    crm.withdraw_consent(sales, customer_id, "newsletter", "phone")
    crm.retire_purpose(admin, "newsletter")
    crm.erase_customer(dpo, customer_id, "DSR-ERASE request 3")

    events = [
        crm.mapper.to_domain_event(n)
        for n in crm.recorder.select_notifications(start=None, limit=100)
    ]

    assert {(type(e), e.actor) for e in events} == {
        (Purpose.Defined, "admin:u-admin"),
        (Purpose.NoticePublished, "admin:u-admin"),
        (Purpose.Retired, "admin:u-admin"),
        (Customer.Registered, "sales:u-17"),
        (Customer.ConsentGiven, "sales:u-17"),
        (Customer.AgreementRecorded, "sales:u-17"),
        (Customer.ContactDetailsChanged, "sales:u-17"),
        (Customer.StageChanged, "sales:u-17"),
        (Customer.OwnerAssigned, "admin:u-admin"),
        (Interaction.Logged, "sales:u-17"),
        (Customer.ConsentWithdrawn, "sales:u-17"),
        (Customer.ErasureRequested, "dpo:u-dpo"),
        (Customer.DataKeyShredded, "dpo:u-dpo"),
    }
