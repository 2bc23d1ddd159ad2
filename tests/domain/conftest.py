"""Fixtures for the CRM's rules: actors, purposes with notices, a customer."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from api.wiring import Services
from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    Purpose,
    notice_sha256,
    purpose_id,
)

NOTICE_VI = "Chúng tôi gửi thư tin tức hàng tháng."
NOTICE_EN = "We send a monthly newsletter."

DefinePurpose = Callable[..., ConsentCapture | AgreementCapture]


@pytest.fixture
def crm(services: Services) -> CRM:
    return services.crm


@pytest.fixture
def admin() -> Actor:
    return Actor("u-admin", "admin")


@pytest.fixture
def sales() -> Actor:
    return Actor("u-17", "sales")


@pytest.fixture
def define_purpose(crm: CRM, admin: Actor) -> DefinePurpose:
    """Defines a purpose, publishes a notice if it rests on consent, and returns
    the capture a customer's consent or agreement to it would carry."""

    def define(
        code: str, legal_basis: str = "consent"
    ) -> ConsentCapture | AgreementCapture:
        crm.define_purpose(
            admin, code, f"Mục đích {code}", code, legal_basis, [("email", "basic")], 30
        )
        if legal_basis != "consent":
            return AgreementCapture(code, f"HĐ-{code}-001")
        version, _ = crm.publish_notice(admin, code, NOTICE_VI, NOTICE_EN)
        sha256 = notice_sha256(NOTICE_VI, NOTICE_EN)
        return ConsentCapture(code, version, sha256, "web-form", f"form-{code}-1")

    return define


@pytest.fixture
def newsletter(define_purpose: DefinePurpose) -> ConsentCapture:
    consent = define_purpose("newsletter")
    assert isinstance(consent, ConsentCapture)
    return consent


@pytest.fixture
def delivery(define_purpose: DefinePurpose) -> AgreementCapture:
    agreement = define_purpose("order-delivery", "agreement")
    assert isinstance(agreement, AgreementCapture)
    return agreement


@pytest.fixture
def details() -> PersonalDetails:
    return PersonalDetails(
        full_name="Nguyễn Thị Lan",
        phone="0912 345 678",
        email="lan.nguyen@example.vn",
        postal_address="12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
        date_of_birth="1990-04-30",
    )


@pytest.fixture
def customer_id(
    crm: CRM, sales: Actor, details: PersonalDetails, newsletter: ConsentCapture
) -> UUID:
    """A customer registered with consent to the newsletter only."""
    return crm.register_customer(sales, details, CustomerProfile(), [newsletter]).id


def record_purpose_from_before_the_flags(
    crm: CRM, code: str, categories: list[tuple[str, str]], notice: tuple[str, str]
) -> None:
    """Stores a purpose and its first notice as they were recorded before purposes
    said whether they disclose and notices declared sensitive data (class
    version 1 of both events), straight into the event store."""
    transcoder = crm.mapper.transcoder
    defined = {
        "timestamp": datetime.now(UTC),
        "originator_topic": get_topic(Purpose),
        "actor": "admin:u-admin",
        "code": code,
        "title_vi": f"Mục đích {code}",
        "title_en": code,
        "legal_basis": "consent",
        "data_categories": [{"name": n, "sensitivity": s} for n, s in categories],
        "retention_days": 30,
    }
    published = {
        "timestamp": datetime.now(UTC),
        "actor": "admin:u-admin",
        "version": 1,
        "text_vi": notice[0],
        "text_en": notice[1],
        "text_sha256": notice_sha256(*notice),
    }
    crm.recorder.insert_events(
        [
            StoredEvent(
                purpose_id(code),
                1,
                get_topic(Purpose.Defined),
                transcoder.encode(defined),
            ),
            StoredEvent(
                purpose_id(code),
                2,
                get_topic(Purpose.NoticePublished),
                transcoder.encode(published),
            ),
        ]
    )
