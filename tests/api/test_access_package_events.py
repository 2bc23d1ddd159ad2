"""The access package finds the subject's events through the read model
`events_by_subject`: every event of the subject, none of another's, and never
a package built on a read model that has not caught up (DSR-ACCESS)."""

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from api import privacy
from api.errors import ApiError
from api.wiring import Services
from domain import Actor, ConsentCapture, Customer, CustomerProfile, Interaction
from domain import PersonalDetails as Details
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.subject_requests import DSR_PURPOSE, SubjectRequest
from tests.api.conftest import Caller, registration

DPO = Actor("u-dpo", "dpo")
SALES = Actor("u-sales", "sales")


def concerns(event: Any, subject: UUID) -> bool:
    """What "an event of the subject" means, written apart from the code."""
    if isinstance(event, Customer.Event):
        return bool(event.originator_id == subject)
    if isinstance(event, Interaction.Logged | PersonalDataAccess.Recorded):
        return bool(event.customer_id == subject)
    if isinstance(event, PersonalDataExport.Recorded):
        return subject in event.customer_ids
    if isinstance(event, SubjectRequest.Received | SubjectRequest.IdentityVerified):
        return event.customer_id == str(subject)
    return False


def positions_in_the_log(services: Services, subject: UUID) -> list[int]:
    """Every event of the subject, found by reading the whole log."""
    mapper: Any = services.crm.mapper
    return [
        n.id
        for n in services.crm.recorder.select_notifications(start=1, limit=100_000)
        if concerns(mapper.to_sealed_domain_event(n), subject)
    ]


def open_access_request(dpo: Caller, customer_id: str) -> str:
    request_id = dpo.post(
        "/v1/dpo/requests",
        json={
            "kind": "access",
            "requester_name": "Khách",
            "requester_contact": "0912 345 678",
            "customer_id": customer_id,
        },
    ).json()["id"]
    verified = dpo.post(
        f"/v1/dpo/requests/{request_id}/identity-verification",
        json={"customer_id": customer_id, "method": "signed-request"},
    )
    assert verified.status_code == 200, verified.json()
    return str(request_id)


def history(callers: dict[str, Caller], customer_id: str, note: str) -> int:
    """An interaction, a read for a purpose and a withdrawal; the last position."""
    sales = callers["sales"]
    logged = sales.post(
        f"/v1/customers/{customer_id}/interactions", json={"kind": "call", "text": note}
    )
    read = sales.get(
        f"/v1/customers/{customer_id}",
        params={
            "purpose": "marketing-email",
            "after_position": logged.json()["position"],
        },
    )
    assert read.status_code == 200, read.json()
    withdrawn = sales.post(
        f"/v1/customers/{customer_id}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )
    return int(withdrawn.json()["position"])


@pytest.mark.requirement("DSR-ACCESS")
def test_access_package_holds_every_event_of_its_subject_and_none_of_another(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    subject, other = (
        sales.post("/v1/customers", json=registration(marketing)).json()
        for _ in range(2)
    )
    exported = dpo.post(
        "/v1/exports/customers",
        json={
            "purpose": "marketing-email",
            "recipient": "Mailing partner Co.",
            "agreement_ref": "DPA-2026-3",
            "basis": "consent",
            "fields": ["full_name"],
            "after_position": other["position"],
        },
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["Excluded-Without-Basis"] == "0"
    history(callers, subject["id"], "Gọi cho khách này")
    history(callers, other["id"], "Gọi cho khách khác")
    open_access_request(dpo, other["id"])
    request_id = open_access_request(dpo, subject["id"])

    package = dpo.get(f"/v1/dpo/requests/{request_id}/access-package").json()

    listed = [e["position"] for e in package["events"]]
    assert listed == positions_in_the_log(services, UUID(subject["id"]))
    others = set(positions_in_the_log(services, UUID(other["id"]))) - set(listed)
    assert len(others) >= 7  # the other's own events, none of them listed
    assert {e["type"] for e in package["events"]} >= {
        "Customer.Registered",
        "Customer.ConsentGiven",
        "Customer.ConsentWithdrawn",
        "Interaction.Logged",
        "PersonalDataAccess.Recorded",
        "PersonalDataExport.Recorded",
        "SubjectRequest.Received",
        "SubjectRequest.IdentityVerified",
    }
    assert [i["text"] for i in package["interactions"]] == ["Gọi cho khách này"]
    assert [d["recipient"] for d in package["disclosures"]] == ["Mailing partner Co."]
    assert {r["purpose_code"] for r in package["reads"]} == {
        "marketing-email",
        DSR_PURPOSE,
    }


@pytest.mark.requirement("DSR-ACCESS")
@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_record_lists_the_consent_events_of_its_subject_only(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    sales = callers["sales"]
    subject, other = (
        sales.post("/v1/customers", json=registration(marketing)).json()["id"]
        for _ in range(2)
    )
    history(callers, other, "Gọi")

    record = callers["dpo"].get(
        f"/v1/dpo/customers/{subject}/consents/marketing-email/record"
    )

    [event] = record.json()["events"]
    assert event["type"] == "Customer.ConsentGiven"
    assert event["position"] in positions_in_the_log(services, UUID(subject))


@pytest.fixture
def customer(services: Services) -> UUID:
    """A customer with an interaction, recorded straight to the CRM; no projection
    runs in these tests unless they start one."""
    crm = services.crm
    crm.define_purpose(
        SALES, "offers", "Ưu đãi", "Offers", "consent", [("e", "basic")], 9
    )
    crm.publish_notice(SALES, "offers", "Ưu đãi.", "Offers.")
    sha = crm.purpose("offers").notices[0]["text_sha256"]
    consent = ConsentCapture("offers", 1, sha, "web-form", "form-1")
    written = crm.register_customer(
        SALES, Details("Phạm Thu Dung"), CustomerProfile(), [consent]
    )
    crm.log_interaction(SALES, written.id, "call", "Gọi")
    return written.id


@pytest.fixture
def subject_events_running(services: Services) -> Iterator[None]:
    stop = threading.Event()
    running = threading.Thread(target=services.subject_events_runner.run, args=(stop,))
    running.start()
    yield
    stop.set()
    running.join()


@pytest.mark.requirement("DSR-ACCESS")
def test_a_lagging_subject_index_answers_503_and_records_nothing(
    services: Services, customer: UUID
) -> None:
    services.settings = services.settings.model_copy(update={"read_wait_seconds": 0.2})
    before = services.crm.recorder.max_notification_id()

    with pytest.raises(ApiError) as behind:
        privacy.access_package(services, DPO, customer)

    assert behind.value.status == 503
    assert behind.value.code == "read_side_behind"
    assert services.crm.recorder.max_notification_id() == before


@pytest.mark.requirement("DSR-ACCESS")
@pytest.mark.usefixtures("subject_events_running")
def test_the_package_waits_for_the_subject_index_to_hold_its_own_read(
    services: Services, customer: UUID
) -> None:
    package = privacy.access_package(services, DPO, customer)

    head = services.crm.recorder.max_notification_id()
    assert package["events"][-1]["position"] == head  # the package's own read
    assert package["reads"][-1]["purpose_code"] == DSR_PURPOSE
    assert [i["text"] for i in package["interactions"]] == ["Gọi"]
    assert [e["position"] for e in package["events"]] == positions_in_the_log(
        services, customer
    )


@pytest.mark.requirement("DSR-ACCESS")
@pytest.mark.usefixtures("subject_events_running")
def test_an_erased_subjects_package_still_lists_every_event(
    services: Services, customer: UUID
) -> None:
    services.crm.erase_customer(DPO, customer, "DSR-ERASE 2026-1")

    package = privacy.access_package(services, DPO, customer)

    assert package["personal_data"]["full_name"] == "ERASED"
    assert [i["text"] for i in package["interactions"]] == ["ERASED"]
    types = [e["type"] for e in package["events"]]
    assert types[:2] == ["Customer.Registered", "Customer.ConsentGiven"]
    assert "Customer.DataKeyShredded" in types
    assert [e["position"] for e in package["events"]] == positions_in_the_log(
        services, customer
    )
