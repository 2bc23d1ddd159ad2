"""Data subject requests as events: intake, clocks, verification, fulfilment."""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from domain import CRM, Actor, AgreementCapture, ConsentCapture
from domain.errors import (
    CustomerErasedError,
    InvalidValueError,
    NoBasisForPurposeError,
    ProcessingRestrictedError,
)
from domain.privacy_office import PrivacyOffice, RequestIntake
from domain.subject_requests import RequestStateError, SubjectRequest

FRIDAY_BEFORE_TET = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)


@pytest.fixture
def office(crm: CRM) -> PrivacyOffice:
    return PrivacyOffice(crm)


@pytest.fixture
def dpo() -> Actor:
    return Actor("u-dpo", "dpo")


def intake(kind: str, **extra: object) -> RequestIntake:
    return RequestIntake(
        kind=kind,
        requester_name="Nguyễn Thị Lan",
        requester_contact="lan.nguyen@example.vn",
        **extra,  # type: ignore[arg-type]
    )


def received(office: PrivacyOffice, dpo: Actor, kind: str, **extra: object) -> UUID:
    return office.receive_request(dpo, intake(kind, **extra), FRIDAY_BEFORE_TET).id


@pytest.mark.requirement("DSR-ACCESS")
def test_access_request_is_due_in_two_working_days_and_ten_calendar_days(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request = office.request(received(office, dpo, "access"))

    assert request.acknowledge_due == "2026-02-24"  # Tết 14-22 Feb is skipped
    assert request.execute_due == "2026-02-23"
    assert request.status == "received"


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_with_processors_gets_thirty_days(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request = office.request(received(office, dpo, "erase", processors_involved=True))

    assert request.execute_due == "2026-03-15"


@pytest.mark.parametrize(
    ("kind", "due"),
    [("rectify", "2026-02-23"), ("restrict", "2026-02-28"), ("object", "2026-02-28")],
)
def test_execution_deadline_follows_the_kind(
    office: PrivacyOffice,
    dpo: Actor,
    newsletter: ConsentCapture,
    kind: str,
    due: str,
) -> None:
    extra = {"purpose_codes": ["newsletter"]} if kind == "object" else {}

    request = office.request(received(office, dpo, kind, **extra))

    assert request.execute_due == due


def test_an_unknown_kind_is_refused(office: PrivacyOffice, dpo: Actor) -> None:
    with pytest.raises(InvalidValueError):
        office.receive_request(dpo, intake("forget-me"))


def test_every_step_is_an_event_and_nothing_is_updated_in_place(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    request_id = received(office, dpo, "restrict")

    office.acknowledge(dpo, request_id, "email")
    office.verify_identity(dpo, request_id, customer_id, "signed-request")
    office.extend(dpo, request_id, "the processor must confirm", 5)
    office.fulfil_on_customer(dpo, request_id)

    events = list(office.crm.events.get(request_id))
    assert [type(e).__name__ for e in events] == [
        "Received",
        "Acknowledged",
        "IdentityVerified",
        "Extended",
        "Fulfilled",
    ]
    assert office.request(request_id).execute_due == "2026-03-05"


def test_a_deadline_is_extended_only_once(office: PrivacyOffice, dpo: Actor) -> None:
    request_id = received(office, dpo, "access")
    office.extend(dpo, request_id, "large archive to search", 10)

    with pytest.raises(RequestStateError, match="once"):
        office.extend(dpo, request_id, "again", 1)


def test_fulfilment_needs_a_verified_identity(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request_id = received(office, dpo, "restrict")

    with pytest.raises(RequestStateError, match="not verified"):
        office.fulfil_on_customer(dpo, request_id)


@pytest.mark.requirement("DSR-ERASE")
def test_refusal_records_its_legal_ground_and_closes_the_request(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request_id = received(office, dpo, "erase")

    office.refuse(dpo, request_id, "Accounting Law 88/2015 Art 41: 10 years", "email")

    request = office.request(request_id)
    assert request.status == "refused"
    assert request.refusal == {
        "legal_ground": "Accounting Law 88/2015 Art 41: 10 years",
        "told_via": "email",
    }
    with pytest.raises(RequestStateError, match="closed"):
        office.acknowledge(dpo, request_id, "email")


@pytest.mark.requirement("DSR-RESTRICT")
def test_restriction_blocks_every_purpose_but_keeps_the_data(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    request_id = received(office, dpo, "restrict")
    office.verify_identity(dpo, request_id, customer_id, "signed-request")

    office.fulfil_on_customer(dpo, request_id)

    with pytest.raises(ProcessingRestrictedError):
        office.check_processing_allowed(customer_id, "newsletter")
    assert office.crm.customer(customer_id).full_name == "Nguyễn Thị Lan"
    office.check_processing_allowed(customer_id, "data-subject-request")
    office.lift_restriction(dpo, customer_id, "the accuracy check is complete")
    office.check_processing_allowed(customer_id, "newsletter")


@pytest.mark.requirement("DSR-OBJECT")
def test_objection_blocks_only_its_purposes(
    office: PrivacyOffice,
    dpo: Actor,
    sales: Actor,
    customer_id: UUID,
    newsletter: ConsentCapture,
    delivery: AgreementCapture,
) -> None:
    office.crm.record_agreement(sales, customer_id, delivery)
    request_id = received(office, dpo, "object", purpose_codes=["newsletter"])
    office.verify_identity(dpo, request_id, customer_id, "known-contact-confirmed")

    office.fulfil_on_customer(dpo, request_id)

    with pytest.raises(ProcessingRestrictedError, match="objected"):
        office.check_processing_allowed(customer_id, "newsletter")
    office.check_processing_allowed(customer_id, "order-delivery")


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdraw_consent_request_withdraws_the_named_consents(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    request_id = received(office, dpo, "withdraw-consent", purpose_codes=["newsletter"])
    office.verify_identity(dpo, request_id, customer_id, "signed-request")

    office.fulfil_on_customer(dpo, request_id)

    assert not office.crm.customer(customer_id).has_consent_for("newsletter")
    assert office.request(request_id).outcome == {"withdrawn_purposes": ["newsletter"]}


@pytest.mark.requirement("DSR-RECTIFY")
def test_rectification_supersedes_the_old_values(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    request_id = received(office, dpo, "rectify")
    office.verify_identity(dpo, request_id, customer_id, "signed-request")

    office.fulfil_on_customer(
        dpo,
        request_id,
        {"full_name": "Nguyễn Thị Lan Anh", "date_of_birth": "1990-05-01"},
    )

    customer = office.crm.customer(customer_id)
    assert customer.full_name == "Nguyễn Thị Lan Anh"
    assert customer.date_of_birth == "1990-05-01"
    assert customer.phone is not None
    assert office.request(request_id).outcome == {
        "rectified_fields": ["date_of_birth", "full_name"]
    }


def test_overdue_and_due_soon_lists(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    late = received(office, dpo, "access")
    acknowledged = received(office, dpo, "erase")
    office.acknowledge(dpo, acknowledged, "email")
    closed = received(office, dpo, "erase")
    office.refuse(dpo, closed, "a court order requires keeping the file", "email")

    overdue = office.overdue(date(2026, 2, 25))
    soon = office.due_soon(date(2026, 2, 25), within_days=10)

    assert [r.id for r in overdue] == [late]
    assert [r.id for r in soon] == [acknowledged]


def test_requester_details_are_sealed_in_the_event_store(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request_id = received(office, dpo, "access")

    stored = office.crm.recorder.select_events(request_id)

    assert stored
    assert all(b"lan.nguyen" not in event.state for event in stored)
    assert isinstance(office.request(request_id), SubjectRequest)


def test_verifying_an_unknown_customer_is_refused(
    office: PrivacyOffice, dpo: Actor
) -> None:
    request_id = received(office, dpo, "access")

    with pytest.raises(Exception, match="no customer"):
        office.verify_identity(dpo, request_id, uuid4(), "signed-request")


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_use_for_a_purpose_follows_the_latest_consent_event(
    office: PrivacyOffice,
    sales: Actor,
    customer_id: UUID,
    newsletter: ConsentCapture,
) -> None:
    """The check reads the customer's events, not a read model: a withdrawal
    refuses the next use, and consent given again allows it again."""
    office.check_processing_allowed(customer_id, "newsletter")

    office.crm.withdraw_consent(sales, customer_id, "newsletter", "email")
    with pytest.raises(NoBasisForPurposeError, match="'newsletter'"):
        office.check_processing_allowed(customer_id, "newsletter")

    office.crm.give_consent(sales, customer_id, newsletter)
    office.check_processing_allowed(customer_id, "newsletter")


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_use_for_a_purpose_without_consent_or_agreement_is_refused(
    office: PrivacyOffice,
    sales: Actor,
    customer_id: UUID,
    delivery: AgreementCapture,
) -> None:
    with pytest.raises(NoBasisForPurposeError, match="'order-delivery'"):
        office.check_processing_allowed(customer_id, "order-delivery")

    office.crm.record_agreement(sales, customer_id, delivery)
    office.check_processing_allowed(customer_id, "order-delivery")


@pytest.mark.requirement("DSR-ERASE")
def test_no_use_once_an_erasure_is_requested(
    office: PrivacyOffice, dpo: Actor, customer_id: UUID
) -> None:
    """From the erasure request on, before the data key is shredded."""
    customer = office.crm.customer(customer_id)
    customer.request_erasure("consent-withdrawn", str(dpo))
    office.crm.save(customer)

    with pytest.raises(CustomerErasedError):
        office.check_processing_allowed(customer_id, "newsletter")
