"""End-to-end flows over HTTP: register, read for a purpose, change, erase."""

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

from api.app import create_app
from api.wiring import Services
from domain.access import PersonalDataAccess
from tests.api.conftest import Caller, consent_body, purpose_body, registration

pytestmark = pytest.mark.usefixtures("backend")


def register(sales: Caller, marketing: dict[str, Any], **personal: Any) -> Any:
    response = sales.post("/v1/customers", json=registration(marketing, **personal))
    assert response.status_code == 201, response.json()
    return response.json()


def read(caller: Caller, written: dict[str, Any], purpose: str) -> Any:
    return caller.get(
        f"/v1/customers/{written['id']}",
        params={"purpose": purpose, "after_position": written["position"]},
    )


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_sales_reads_personal_fields_for_a_consented_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing, email="an@example.vn")

    response = read(callers["sales"], written, "marketing-email")

    assert response.status_code == 200
    body = response.json()
    assert body["personal"]["full_name"] == "Nguyễn Văn An"
    assert body["personal"]["email"] == "an@example.vn"
    assert body["consents"]["marketing-email"]["notice_version"] == 1


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_read_without_a_basis_for_the_purpose_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    callers["admin"].post("/v1/purposes", json=purpose_body("profiling", "consent"))
    written = register(callers["sales"], marketing)

    response = read(callers["sales"], written, "profiling")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_basis_for_purpose"


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawal_stops_reads_for_that_purpose_at_once(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing)

    withdrawal = callers["sales"].post(
        f"/v1/customers/{written['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    assert withdrawal.status_code == 200
    assert (
        read(callers["sales"], withdrawal.json(), "marketing-email").status_code == 403
    )


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_withdrawal_stops_reads_and_contact_before_the_read_models_apply_it(
    services: Services,
) -> None:
    """Without background work the read models stay where they were caught up to:
    they still show the consent, yet the withdrawal holds for the next read."""
    with TestClient(create_app(services, run_background_work=False)) as client:
        admin, sales = (
            Caller(client, services.access.create(role, f"t-{role}")[1])
            for role in ("admin", "sales")
        )
        admin.post("/v1/purposes", json=purpose_body("marketing-email", "consent"))
        admin.post(
            "/v1/purposes/marketing-email/notices",
            json={"text_vi": "Chúng tôi gửi ưu đãi.", "text_en": "We send offers."},
        )
        marketing = {"code": "marketing-email", "version": 1}
        marketing["sha"] = services.crm.purpose("marketing-email").notice(1)[
            "text_sha256"
        ]
        written = register(sales, marketing)
        for runner in services.runners:
            runner.catch_up()
        path = f"/v1/customers/{written['id']}"
        assert sales.get(path, params={"purpose": "marketing-email"}).status_code == 200

        withdrawn = sales.post(
            f"{path}/consents/marketing-email/withdrawal", json={"channel": "email"}
        )

        assert withdrawn.status_code == 200
        row = services.customers.customer(services.read_models, UUID(written["id"]))
        assert row is not None and row.has_basis_for("marketing-email")  # stale
        refused = sales.get(path, params={"purpose": "marketing-email"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "no_basis_for_purpose"
        contactable = sales.get("/v1/purposes/marketing-email/contactable-customers")
        assert contactable.status_code == 200
        assert contactable.json()["customer_ids"] == []


@pytest.mark.requirement("BASIS-BEFORE-COLLECTION")
def test_registration_without_consent_or_agreement_stores_nothing(
    callers: dict[str, Caller], services: Services
) -> None:
    before = services.crm.recorder.max_notification_id()

    response = callers["sales"].post("/v1/customers", json={"full_name": "Lê Văn C"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_legal_basis"
    assert services.crm.recorder.max_notification_id() == before


def test_invalid_phone_is_refused_with_the_field_named(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    before = services.crm.recorder.max_notification_id()

    response = callers["sales"].post(
        "/v1/customers", json=registration(marketing, phone="12")
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "phone"
    assert services.crm.recorder.max_notification_id() == before


def test_malformed_request_gets_the_shared_error_shape_without_echoing_values(
    callers: dict[str, Caller],
) -> None:
    response = callers["sales"].post(
        "/v1/customers", json={"full_name": "Secret Name", "surprise": 1}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "surprise" in error["message"]
    assert "Secret Name" not in response.text


def test_contact_details_change_is_read_back(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing)

    changed = callers["sales"].patch(
        f"/v1/customers/{written['id']}/contact-details",
        json={"email": "moi@example.vn", "phone": "+44 20 7946 0958"},
    )

    personal = read(callers["sales"], changed.json(), "marketing-email").json()
    assert personal["personal"]["email"] == "moi@example.vn"
    assert personal["personal"]["phone"] == "+44 20 7946 0958"


def test_consent_against_a_changed_notice_text_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    tampered = registration(marketing)
    tampered["consents"][0]["notice_sha256"] = "0" * 64

    response = callers["sales"].post("/v1/customers", json=tampered)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "notice_mismatch"


def test_agreement_records_a_basis_for_its_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    callers["admin"].post(
        "/v1/purposes", json=purpose_body("customer-care", "agreement")
    )
    written = register(callers["sales"], marketing)

    recorded = callers["sales"].post(
        f"/v1/customers/{written['id']}/agreements",
        json={"purpose_code": "customer-care", "agreement_ref": "HD-2026-1"},
    )

    assert recorded.status_code == 201
    assert read(callers["sales"], recorded.json(), "customer-care").status_code == 200


def test_interactions_are_logged_and_listed_for_a_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing)

    logged = callers["sales"].post(
        f"/v1/customers/{written['id']}/interactions",
        json={"kind": "call", "text": "Khách hỏi về gói cước."},
    )
    listed = callers["sales"].get(
        f"/v1/customers/{written['id']}/interactions",
        params={
            "purpose": "marketing-email",
            "after_position": logged.json()["position"],
        },
    )

    assert logged.status_code == 201
    assert [i["text"] for i in listed.json()] == ["Khách hỏi về gói cước."]


@pytest.mark.requirement("DSR-ERASE")
def test_erased_customer_reads_as_unknown_and_takes_no_new_data(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = register(callers["sales"], marketing)

    erased = callers["dpo"].post(
        f"/v1/customers/{written['id']}/erasure", json={"ground": "DSR-ERASE 2026-7"}
    )

    assert erased.status_code == 200
    unknown = read(callers["sales"], written, "marketing-email")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "customer_not_found"
    refused = callers["sales"].post(
        f"/v1/customers/{written['id']}/interactions",
        json={"kind": "note", "text": "x"},
    )
    assert refused.status_code == 404
    customer = services.crm.customer(UUID(written["id"]))
    assert customer.erased and not customer.full_name


def test_customer_list_pages_with_a_cursor_and_shows_no_personal_fields(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    last = None
    for number in range(3):
        last = register(callers["sales"], marketing, full_name=f"Khách {number}")
    assert last is not None

    first = (
        callers["manager"]
        .get("/v1/customers", params={"limit": 2, "after_position": last["position"]})
        .json()
    )
    second = (
        callers["manager"]
        .get("/v1/customers", params={"limit": 2, "cursor": first["next_cursor"]})
        .json()
    )

    assert len(first["customers"]) == 2 and len(second["customers"]) == 1
    assert second["next_cursor"] is None
    assert "Khách" not in str(first) + str(second)


def test_read_waiting_for_a_position_not_yet_written_answers_503(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = register(callers["sales"], marketing)
    services.settings.__dict__["read_wait_seconds"] = 0.2

    response = callers["sales"].get(
        f"/v1/customers/{written['id']}",
        params={
            "purpose": "marketing-email",
            "after_position": written["position"] + 50,
        },
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


def test_consent_given_after_registration_opens_reads_for_that_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    admin = callers["admin"]
    admin.post("/v1/purposes", json=purpose_body("newsletter", "consent"))
    sha = admin.post(
        "/v1/purposes/newsletter/notices",
        json={"text_vi": "Bản tin", "text_en": "News"},
    ).json()["text_sha256"]
    written = register(callers["sales"], marketing)

    given = callers["sales"].post(
        f"/v1/customers/{written['id']}/consents",
        json=consent_body({"code": "newsletter", "version": 1, "sha": sha}),
    )

    assert given.status_code == 201
    assert read(callers["sales"], given.json(), "newsletter").status_code == 200


@pytest.mark.requirement("PROCESSING-LOG")
def test_every_read_of_personal_fields_is_recorded_with_purpose_and_fields(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = register(callers["sales"], marketing, email="an@example.vn")

    read(callers["sales"], written, "marketing-email")
    refused = read(callers["sales"], written, "no-such-purpose")

    recorded = services.crm.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(PersonalDataAccess.Recorded)]
    )
    assert refused.status_code == 404
    assert len(recorded) == 1
    access = services.crm.repository.get(UUID(str(recorded[0].originator_id)))
    assert access.customer_id == UUID(written["id"])
    assert access.purpose_code == "marketing-email"
    assert access.fields == ["email", "full_name", "phone"]
    assert b"an@example.vn" not in recorded[0].state
