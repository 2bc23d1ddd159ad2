"""The complaint register and the breach incident register with its 72-hour
clock, sized from the record of reads."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.wiring import Services
from tests.api.conftest import Caller, registration

FORM = {
    "occurred_at": "2026-12-01T22:00:00+07:00",
    "place": "Hà Nội office, CRM server",
    "what_happened": "A sales token was used from an unknown address",
    "parties": "the firm; its hosting provider",
    "data_types": ["full name", "phone"],
    "volume": "up to 3 customers",
    "dpo_contact": "dpo@example.vn",
    "likely_consequences": "unwanted calls",
    "measures_taken": "token revoked",
}


def register(callers: dict[str, Caller], marketing: dict[str, Any], name: str) -> str:
    body = registration(marketing, full_name=name)
    return str(callers["sales"].post("/v1/customers", json=body).json()["id"])


@pytest.mark.requirement("COMPLAINT")
def test_complaint_is_registered_with_its_links_owner_and_due_date(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    customer_id = register(callers, marketing, "Lê Văn Cường")
    request = dpo.post(
        "/v1/dpo/requests",
        json={"kind": "access", "requester_name": "C", "requester_contact": "c@x.vn"},
    ).json()

    lodged = dpo.post(
        "/v1/dpo/complaints",
        json={
            "complainant_name": "Lê Văn Cường",
            "complainant_contact": "cuong@example.vn",
            "summary": "My access request was not answered",
            "customer_id": customer_id,
            "request_id": request["id"],
            "owner": "dpo-team",
            "due_on": "2026-12-20",
        },
    )

    assert lodged.status_code == 201, lodged.json()
    [complaint] = dpo.get("/v1/dpo/complaints").json()
    assert complaint["customer_id"] == customer_id
    assert complaint["request_id"] == request["id"]
    assert complaint["owner"] == "dpo-team"
    assert complaint["due_on"] == "2026-12-20"
    assert complaint["status"] == "open"


@pytest.mark.requirement("COMPLAINT")
def test_complaint_is_reassigned_and_closed_with_a_resolution(
    callers: dict[str, Caller],
) -> None:
    dpo = callers["dpo"]
    complaint_id = dpo.post(
        "/v1/dpo/complaints",
        json={
            "complainant_name": "Phạm Thu",
            "complainant_contact": "0903 111 222",
            "summary": "Too many marketing calls",
        },
    ).json()["id"]

    dpo.post(
        f"/v1/dpo/complaints/{complaint_id}/assignment",
        json={"owner": "care-lead", "due_on": "2026-12-31"},
    )
    closed = dpo.post(
        f"/v1/dpo/complaints/{complaint_id}/closure",
        json={"resolution": "added to the suppression list"},
    )

    assert closed.status_code == 200
    assert dpo.get("/v1/dpo/complaints").json() == []
    [complaint] = dpo.get("/v1/dpo/complaints", params={"status": "all"}).json()
    assert complaint["owner"] == "care-lead"
    assert complaint["resolution"] == "added to the suppression list"


def test_complaint_linked_to_an_unknown_request_is_refused(
    callers: dict[str, Caller],
) -> None:
    response = callers["dpo"].post(
        "/v1/dpo/complaints",
        json={
            "complainant_name": "A",
            "complainant_contact": "a@x.vn",
            "summary": "s",
            "request_id": "6f1d3c2e-8a4b-4e7f-9c0d-1a2b3c4d5e6f",
        },
    )

    assert response.status_code == 404
    assert callers["dpo"].get("/v1/dpo/complaints").json() == []


@pytest.mark.requirement("BREACH-NOTIFY")
def test_incident_runs_a_72_hour_clock_from_discovery(
    callers: dict[str, Caller],
) -> None:
    dpo = callers["dpo"]
    discovered = datetime.now(UTC) - timedelta(hours=10)

    created = dpo.post(
        "/v1/dpo/incidents",
        json={"discovered_at": discovered.isoformat(), "form": FORM},
    )

    incident = dpo.get(f"/v1/dpo/incidents/{created.json()['id']}").json()
    notify_by = datetime.fromisoformat(incident["notify_by"])
    assert notify_by == discovered + timedelta(hours=72)
    assert 61 < incident["hours_left"] < 62
    assert incident["overdue"] is False
    assert incident["form"]["volume"] == "up to 3 customers"


@pytest.mark.requirement("BREACH-NOTIFY")
def test_incident_past_72_hours_without_notification_is_overdue(
    callers: dict[str, Caller],
) -> None:
    dpo = callers["dpo"]
    discovered = datetime.now(UTC) - timedelta(hours=80)
    incident_id = dpo.post(
        "/v1/dpo/incidents", json={"discovered_at": discovered.isoformat()}
    ).json()["id"]

    overdue = dpo.get(f"/v1/dpo/incidents/{incident_id}").json()["overdue"]
    dpo.post(
        f"/v1/dpo/incidents/{incident_id}/authority-notification",
        json={"notified_at": datetime.now(UTC).isoformat(), "reference": "A05-1"},
    )
    after = dpo.get(f"/v1/dpo/incidents/{incident_id}").json()

    assert overdue is True
    assert after["overdue"] is False
    assert after["notification_reference"] == "A05-1"


@pytest.mark.requirement("BREACH-NOTIFY")
@pytest.mark.requirement("PROCESSING-LOG")
def test_breach_scope_lists_the_subjects_a_token_read_in_the_window(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    read_ids = [register(callers, marketing, f"Khách {n}") for n in range(2)]
    unread = register(callers, marketing, "Khách không đọc")
    start = datetime.now(UTC) - timedelta(minutes=1)
    head = services.crm.recorder.max_notification_id()
    for customer_id in read_ids:
        read = sales.get(
            f"/v1/customers/{customer_id}",
            params={"purpose": "marketing-email", "after_position": head},
        )
        assert read.status_code == 200, read.text
    token_id = sales.headers["Authorization"].split("_")[1]
    incident_id = dpo.post(
        "/v1/dpo/incidents",
        json={"discovered_at": datetime.now(UTC).isoformat(), "form": FORM},
    ).json()["id"]

    scope = dpo.post(
        f"/v1/dpo/incidents/{incident_id}/scope",
        json={
            "reader": token_id,
            "window_start": start.isoformat(),
            "window_end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        },
    ).json()

    assert sorted(scope["subject_ids"]) == sorted(read_ids)
    assert unread not in scope["subject_ids"]
    assert {r["purpose_code"] for r in scope["reads"]} == {"marketing-email"}
    incident = dpo.get(f"/v1/dpo/incidents/{incident_id}").json()
    assert sorted(incident["subjects_to_notify"]) == sorted(read_ids)
    assert incident["scopes"][0]["reads"] == 2


@pytest.mark.requirement("BREACH-NOTIFY")
def test_notification_form_prints_every_field_of_the_form(
    callers: dict[str, Caller],
) -> None:
    dpo = callers["dpo"]
    incident_id = dpo.post(
        "/v1/dpo/incidents",
        json={"discovered_at": datetime.now(UTC).isoformat(), "form": FORM},
    ).json()["id"]
    dpo.post(
        f"/v1/dpo/incidents/{incident_id}/form",
        json={**FORM, "measures_taken": "token revoked; passwords reset"},
    )

    page = dpo.get(f"/v1/dpo/incidents/{incident_id}/notification")

    assert page.status_code == 200
    for label in ("Place", "What happened", "Data types", "Dpo contact", "Volume"):
        assert label in page.text
    assert "passwords reset" in page.text


def test_incident_free_text_is_sealed_in_the_event_store(
    callers: dict[str, Caller], services: Services
) -> None:
    created = (
        callers["dpo"]
        .post(
            "/v1/dpo/incidents",
            json={"discovered_at": datetime.now(UTC).isoformat(), "form": FORM},
        )
        .json()
    )

    stored = services.crm.recorder.select_events(__import__("uuid").UUID(created["id"]))

    assert stored
    assert all(b"unknown address" not in e.state for e in stored)
