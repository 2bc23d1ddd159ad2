"""When a customer's retention ends (RETENTION)."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain import CRM, Actor, ConsentCapture
from domain.retention import retention_ends


def purposes(crm: CRM) -> dict[str, object]:
    return {p.code: p for p in crm.purposes()}


@pytest.mark.requirement("RETENTION")
def test_retention_does_not_end_while_a_consent_holds(
    crm: CRM, customer_id: UUID
) -> None:
    customer = crm.customer(customer_id)

    assert retention_ends(customer.consents, customer.agreements, purposes(crm)) is None  # type: ignore[arg-type]


@pytest.mark.requirement("RETENTION")
def test_retention_ends_its_period_after_the_withdrawal(
    crm: CRM, sales: Actor, customer_id: UUID, newsletter: ConsentCapture
) -> None:
    crm.withdraw_consent(sales, customer_id, "newsletter", "email")
    customer = crm.customer(customer_id)
    withdrawn = datetime.fromisoformat(customer.consents["newsletter"]["withdrawn_at"])

    ends = retention_ends(customer.consents, customer.agreements, purposes(crm))  # type: ignore[arg-type]

    assert ends == withdrawn + timedelta(days=30)


@pytest.mark.requirement("RETENTION")
def test_an_agreement_ends_when_its_purpose_is_retired(
    crm: CRM, admin: Actor, sales: Actor, customer_id: UUID, delivery: object
) -> None:
    crm.record_agreement(sales, customer_id, delivery)  # type: ignore[arg-type]
    crm.withdraw_consent(sales, customer_id, "newsletter", "email")
    before = datetime.now(UTC)
    customer = crm.customer(customer_id)
    assert retention_ends(customer.consents, customer.agreements, purposes(crm)) is None  # type: ignore[arg-type]

    crm.retire_purpose(admin, "order-delivery")

    ends = retention_ends(customer.consents, customer.agreements, purposes(crm))  # type: ignore[arg-type]
    assert ends is not None and ends >= before + timedelta(days=30)
