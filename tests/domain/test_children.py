"""CHILDREN: the date of birth decides who must consent."""

from dataclasses import replace
from datetime import date

import pytest

from domain import (
    CRM,
    Actor,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)
from domain.children import ChildConsentError, Representative, age_on
from tests.domain.conftest import record_purpose_from_before_the_flags

PARENT = Representative("Nguyễn Văn Bố", "parent", "birth-certificate-17")


def born_years_ago(years: int) -> str:
    today = date.today()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


def register(crm: CRM, sales: Actor, age: int, consent: ConsentCapture) -> object:
    details = PersonalDetails("Nguyễn Bé", date_of_birth=born_years_ago(age))
    return crm.register_customer(sales, details, CustomerProfile(), [consent])


def test_age_counts_whole_years_to_the_birthday() -> None:
    assert age_on(date(2010, 12, 5), date(2026, 12, 4)) == 15
    assert age_on(date(2010, 12, 4), date(2026, 12, 4)) == 16


@pytest.mark.requirement("CHILDREN")
def test_a_child_under_16_without_a_representative_is_refused(
    crm: CRM, sales: Actor, newsletter: ConsentCapture
) -> None:
    before = crm.recorder.max_notification_id()

    with pytest.raises(ChildConsentError, match="representative"):
        register(crm, sales, 15, newsletter)

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CHILDREN")
def test_from_7_to_15_the_child_consents_as_well_where_data_is_disclosed(
    crm: CRM, sales: Actor, newsletter: ConsentCapture
) -> None:
    with pytest.raises(ChildConsentError, match="child consents"):
        register(crm, sales, 12, replace(newsletter, representative=PARENT))

    written = register(
        crm, sales, 12, replace(newsletter, representative=PARENT, child_consented=True)
    )

    consent = crm.customer(written.id).consents["newsletter"]  # type: ignore[attr-defined]
    assert consent["representative"] == {
        "relationship": "parent",
        "evidence_ref": "birth-certificate-17",
        "child_consented": True,
    }


@pytest.mark.requirement("CHILDREN")
def test_under_7_the_representative_alone_consents(
    crm: CRM, sales: Actor, newsletter: ConsentCapture
) -> None:
    written = register(crm, sales, 5, replace(newsletter, representative=PARENT))

    assert crm.customer(written.id).has_consent_for("newsletter")  # type: ignore[attr-defined]


@pytest.mark.requirement("CHILDREN")
def test_an_adult_consents_alone(
    crm: CRM, sales: Actor, newsletter: ConsentCapture
) -> None:
    written = register(crm, sales, 16, newsletter)

    assert crm.customer(written.id).has_consent_for("newsletter")  # type: ignore[attr-defined]


def test_the_representatives_name_is_sealed(
    crm: CRM, sales: Actor, newsletter: ConsentCapture
) -> None:
    written = register(crm, sales, 5, replace(newsletter, representative=PARENT))

    stored = crm.recorder.select_events(written.id)  # type: ignore[attr-defined]

    assert all("Bố".encode() not in e.state for e in stored)


@pytest.fixture
def loyalty(crm: CRM, admin: Actor) -> ConsentCapture:
    """A consent to a purpose whose data goes to no one else."""
    crm.define_purpose(
        admin,
        "loyalty",
        "Tích điểm",
        "Loyalty points",
        "consent",
        [("email", "basic")],
        30,
        discloses=False,
    )
    crm.publish_notice(admin, "loyalty", "Tích điểm.", "Points.")
    return ConsentCapture(
        "loyalty", 1, notice_sha256("Tích điểm.", "Points."), "app", "app-consent-1"
    )


@pytest.mark.requirement("CHILDREN")
def test_from_7_to_15_the_representative_alone_consents_where_nothing_is_disclosed(
    crm: CRM, sales: Actor, loyalty: ConsentCapture
) -> None:
    written = register(crm, sales, 12, replace(loyalty, representative=PARENT))

    consent = crm.customer(written.id).consents["loyalty"]  # type: ignore[attr-defined]
    assert consent["representative"]["child_consented"] is False


@pytest.mark.requirement("CHILDREN")
def test_under_16_the_representative_consents_even_where_nothing_is_disclosed(
    crm: CRM, sales: Actor, loyalty: ConsentCapture
) -> None:
    before = crm.recorder.max_notification_id()

    with pytest.raises(ChildConsentError, match="representative"):
        register(crm, sales, 12, replace(loyalty, child_consented=True))

    assert crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CHILDREN")
def test_a_purpose_defined_before_the_discloses_flag_counts_as_disclosing(
    crm: CRM, sales: Actor
) -> None:
    notice = ("Bản tin.", "News.")
    record_purpose_from_before_the_flags(crm, "news", [("email", "basic")], notice)
    consent = ConsentCapture(
        "news", 1, notice_sha256(*notice), "web-form", "f-1", representative=PARENT
    )

    with pytest.raises(ChildConsentError, match="discloses data"):
        register(crm, sales, 12, consent)

    assert crm.purpose("news").discloses is True
