"""Fixtures for the CRM's rules: actors, purposes with notices, a customer."""

from collections.abc import Callable
from uuid import UUID

import pytest

from api.wiring import Services
from domain import (
    CRM,
    Actor,
    AgreementCapture,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
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
