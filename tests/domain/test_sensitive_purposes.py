"""SENSITIVE-DATA: a purpose covering sensitive data tells the person so in its
notice, and takes no consent or agreement until a notice does."""

from uuid import UUID

import pytest

from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)
from domain.errors import (
    InvalidValueError,
    SensitiveNoticeRequiredError,
    SensitiveProcessingNotDeclaredError,
)
from tests.domain.conftest import record_purpose_from_before_the_flags

NOTICE = ("Chúng tôi gửi ưu đãi theo vị trí.", "We send offers by location.")
STATEMENT = (
    "Chúng tôi xử lý vị trí của bạn, là dữ liệu nhạy cảm.",
    "We process your location, which is sensitive data.",
)
LOCATION = [("email", "basic"), ("location", "sensitive")]


def define_location_offers(crm: CRM, admin: Actor, legal_basis: str) -> None:
    crm.define_purpose(
        admin, "location-offers", "Ưu đãi", "Offers", legal_basis, LOCATION, 30
    )


@pytest.mark.requirement("SENSITIVE-DATA")
def test_a_sensitive_purpose_takes_no_notice_without_its_statement(
    crm: CRM, admin: Actor
) -> None:
    define_location_offers(crm, admin, "consent")
    before = crm.recorder.max_notification_id()

    with pytest.raises(SensitiveNoticeRequiredError) as refused:
        crm.publish_notice(admin, "location-offers", *NOTICE)

    assert "sensitive_statement_vi and sensitive_statement_en" in str(refused.value)
    assert "(location)" in str(refused.value)
    assert crm.recorder.max_notification_id() == before
    assert crm.purpose("location-offers").notices == []


@pytest.mark.requirement("SENSITIVE-DATA")
def test_a_statement_in_one_language_only_is_refused(crm: CRM, admin: Actor) -> None:
    define_location_offers(crm, admin, "consent")

    with pytest.raises(InvalidValueError) as refused:
        crm.publish_notice(admin, "location-offers", *NOTICE, STATEMENT[0], None)

    assert refused.value.field == "sensitive_statement_en"
    assert crm.purpose("location-offers").notices == []


@pytest.mark.requirement("SENSITIVE-DATA")
@pytest.mark.requirement("CONSENT-INFORMED")
def test_a_notice_declaring_sensitive_data_is_hashed_with_its_statement(
    crm: CRM, admin: Actor
) -> None:
    define_location_offers(crm, admin, "consent")

    crm.publish_notice(admin, "location-offers", *NOTICE, *STATEMENT)

    notice = crm.purpose("location-offers").notice(1)
    assert notice is not None
    assert notice["declares_sensitive"] is True
    assert notice["sensitive_statement_en"] == STATEMENT[1]
    assert notice["text_sha256"] == notice_sha256(*NOTICE, *STATEMENT)
    assert notice["text_sha256"] != notice_sha256(*NOTICE)


def test_a_statement_on_a_purpose_without_sensitive_data_is_refused(
    crm: CRM, admin: Actor
) -> None:
    crm.define_purpose(
        admin, "newsletter", "Bản tin", "News", "consent", [("email", "basic")], 30
    )

    with pytest.raises(InvalidValueError, match="covers no sensitive data"):
        crm.publish_notice(admin, "newsletter", *NOTICE, *STATEMENT)

    assert crm.purpose("newsletter").notices == []


@pytest.mark.requirement("SENSITIVE-DATA")
def test_a_sensitive_purpose_takes_no_agreement_until_a_notice_declares_it(
    crm: CRM, admin: Actor, sales: Actor, customer_id: UUID
) -> None:
    define_location_offers(crm, admin, "agreement")
    agreement = AgreementCapture("location-offers", "HĐ-2026-7")
    before = crm.recorder.max_notification_id()

    with pytest.raises(SensitiveProcessingNotDeclaredError) as refused:
        crm.record_agreement(sales, customer_id, agreement)
    unchanged = crm.recorder.max_notification_id()
    crm.publish_notice(admin, "location-offers", *NOTICE, *STATEMENT)
    crm.record_agreement(sales, customer_id, agreement)

    assert "has no notice telling the person so" in str(refused.value)
    assert "publish a notice with sensitive_statement_vi" in str(refused.value)
    assert unchanged == before
    customer = crm.customer(customer_id)
    assert customer.has_basis_for("location-offers")


@pytest.mark.requirement("SENSITIVE-DATA")
def test_consent_under_an_older_notice_silent_on_sensitive_data_is_refused(
    crm: CRM, sales: Actor
) -> None:
    record_purpose_from_before_the_flags(crm, "location-offers", LOCATION, NOTICE)
    consent = ConsentCapture(
        "location-offers", 1, notice_sha256(*NOTICE), "web-form", "form-1"
    )
    before = crm.recorder.max_notification_id()

    with pytest.raises(SensitiveProcessingNotDeclaredError) as refused:
        crm.register_customer(
            sales, PersonalDetails("Lê Văn Cường"), CustomerProfile(), [consent]
        )

    assert "notice version 1 does not tell the person so" in str(refused.value)
    assert crm.recorder.max_notification_id() == before


def test_a_notice_published_before_the_statement_existed_declares_nothing(
    crm: CRM,
) -> None:
    record_purpose_from_before_the_flags(crm, "location-offers", LOCATION, NOTICE)

    notice = crm.purpose("location-offers").notice(1)

    assert notice is not None
    assert notice["declares_sensitive"] is False
    assert notice["sensitive_statement_vi"] is None
    assert notice["text_sha256"] == notice_sha256(*NOTICE)
