"""Consents per purpose: withdrawal stops the basis, purposes stay independent."""

from collections.abc import Callable
from uuid import UUID

import pytest

from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
)
from domain.errors import (
    ConsentNotGivenError,
    InvalidValueError,
    NoBasisError,
    NoticeMismatchError,
)

DefinePurpose = Callable[..., ConsentCapture | AgreementCapture]


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawing_a_consent_never_given_is_refused(
    crm: CRM, sales: Actor, customer_id: UUID, define_purpose: DefinePurpose
) -> None:
    define_purpose("sms-offers")
    before = crm.recorder.max_notification_id()

    with pytest.raises(ConsentNotGivenError, match="'sms-offers'"):
        crm.withdraw_consent(sales, customer_id, "sms-offers", "phone")

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawal_stops_the_basis_for_its_purpose(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.check_basis_for(crm.customer(customer_id), "newsletter")

    crm.withdraw_consent(sales, customer_id, "newsletter", "email")

    customer = crm.customer(customer_id)
    assert customer.consents["newsletter"]["withdrawal_channel"] == "email"
    with pytest.raises(NoBasisError, match="'newsletter'"):
        crm.check_basis_for(customer, "newsletter")


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawing_twice_is_refused(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.withdraw_consent(sales, customer_id, "newsletter", "email")

    with pytest.raises(ConsentNotGivenError):
        crm.withdraw_consent(sales, customer_id, "newsletter", "email")


def test_withdrawal_through_an_unknown_channel_is_refused(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    with pytest.raises(InvalidValueError) as refused:
        crm.withdraw_consent(sales, customer_id, "newsletter", "carrier-pigeon")

    assert refused.value.field == "channel"
    crm.check_basis_for(crm.customer(customer_id), "newsletter")


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_contact_change_without_a_remaining_basis_is_refused(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.withdraw_consent(sales, customer_id, "newsletter", "web-form")
    before = crm.recorder.max_notification_id()

    with pytest.raises(NoBasisError, match="record the agreement first"):
        crm.change_contact_details(sales, customer_id, phone="0987 654 321")

    assert crm.recorder.max_notification_id() == before
    assert crm.customer(customer_id).phone == "0912 345 678"


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_interaction_without_a_remaining_basis_is_refused(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.withdraw_consent(sales, customer_id, "newsletter", "web-form")

    with pytest.raises(NoBasisError):
        crm.log_interaction(sales, customer_id, "call", "Hỏi về khuyến mãi")


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_retiring_the_only_purpose_stops_collection(
    crm: CRM, admin: Actor, sales: Actor, customer_id: UUID
) -> None:
    crm.retire_purpose(admin, "newsletter")

    with pytest.raises(NoBasisError):
        crm.change_contact_details(sales, customer_id, email="moi@example.vn")

    with pytest.raises(NoBasisError):
        crm.check_basis_for(crm.customer(customer_id), "newsletter")


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_contact_change_with_a_basis_is_recorded(
    crm: CRM, sales: Actor, customer_id: UUID
) -> None:
    crm.change_contact_details(
        sales, customer_id, phone="+84 987 654 321", email="lan.moi@example.vn"
    )

    customer = crm.customer(customer_id)
    assert customer.phone == "+84 987 654 321"
    assert customer.email == "lan.moi@example.vn"
    assert customer.postal_address == "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội"


@pytest.mark.parametrize(
    ("field", "change"),
    [("phone", {"phone": "not a phone"}), ("email", {"email": "no-at-sign"})],
)
def test_invalid_contact_change_is_refused_naming_its_field(
    crm: CRM, sales: Actor, customer_id: UUID, field: str, change: dict[str, str]
) -> None:
    before = crm.recorder.max_notification_id()

    with pytest.raises(InvalidValueError) as refused:
        crm.change_contact_details(sales, customer_id, **change)

    assert refused.value.field == field
    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CONSENT-PER-PURPOSE")
def test_declining_one_purpose_does_not_block_another(
    crm: CRM,
    sales: Actor,
    details: PersonalDetails,
    newsletter: ConsentCapture,
    define_purpose: DefinePurpose,
) -> None:
    define_purpose("sms-offers")

    written = crm.register_customer(sales, details, CustomerProfile(), [newsletter])

    customer = crm.customer(written.id)
    crm.check_basis_for(customer, "newsletter")
    assert not customer.has_consent_for("sms-offers")
    with pytest.raises(NoBasisError, match="'sms-offers'"):
        crm.check_basis_for(customer, "sms-offers")


@pytest.mark.requirement("CONSENT-PER-PURPOSE")
@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawing_one_purpose_keeps_the_others(
    crm: CRM, sales: Actor, customer_id: UUID, define_purpose: DefinePurpose
) -> None:
    sms = define_purpose("sms-offers")
    assert isinstance(sms, ConsentCapture)
    crm.give_consent(sales, customer_id, sms)

    crm.withdraw_consent(sales, customer_id, "newsletter", "app")

    customer = crm.customer(customer_id)
    crm.check_basis_for(customer, "sms-offers")
    with pytest.raises(NoBasisError):
        crm.check_basis_for(customer, "newsletter")
    crm.change_contact_details(sales, customer_id, email="lan.sms@example.vn")


@pytest.mark.requirement("CONSENT-INFORMED")
def test_later_consent_must_match_a_published_notice_too(
    crm: CRM, sales: Actor, customer_id: UUID, define_purpose: DefinePurpose
) -> None:
    sms = define_purpose("sms-offers")
    assert isinstance(sms, ConsentCapture)
    unpublished = ConsentCapture(
        "sms-offers", 3, sms.notice_sha256, "app", "app-consent-1"
    )

    with pytest.raises(NoticeMismatchError):
        crm.give_consent(sales, customer_id, unpublished)

    assert not crm.customer(customer_id).has_consent_for("sms-offers")


@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_keeps_its_notice_channel_actor_and_evidence(
    crm: CRM, customer_id: UUID, newsletter: ConsentCapture
) -> None:
    consent = crm.customer(customer_id).consents["newsletter"]

    assert consent["notice_version"] == newsletter.notice_version
    assert consent["notice_sha256"] == newsletter.notice_sha256
    assert consent["channel"] == "web-form"
    assert consent["evidence_ref"] == "form-newsletter-1"
    assert consent["given_by"] == "sales:u-17"
    assert consent["given_at"]
