"""A customer's timeline: every event concerning them, with actor and time;
personal values only for roles that may read them, for a purpose, recorded."""

from typing import Any

import pytest
from eventsourcing.utils import get_topic

from api.wiring import Services
from domain.access import PersonalDataAccess
from tests.api.conftest import Caller, registration

pytestmark = pytest.mark.usefixtures("backend")


def history(callers: dict[str, Caller], marketing: dict[str, Any]) -> Any:
    """A customer registered, called, and moved to another stage."""
    sales = callers["sales"]
    body = registration(marketing, full_name="Đỗ Thị Dòng Thời Gian")
    written = sales.post("/v1/customers", json=body).json()
    sales.post(
        f"/v1/customers/{written['id']}/interactions",
        json={"kind": "call", "text": "Hỏi giá gói cước"},
    )
    last = sales.patch(
        f"/v1/customers/{written['id']}/profile", json={"stage": "prospect"}
    )
    return {"id": written["id"], "position": last.json()["position"]}


def timeline(caller: Caller, written: dict[str, Any], **params: Any) -> Any:
    return caller.get(
        f"/v1/customers/{written['id']}/timeline",
        params={"after_position": written["position"], **params},
    )


def test_timeline_lists_every_event_with_actor_and_time_and_no_plaintext(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = history(callers, marketing)

    response = timeline(callers["auditor"], written)

    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [e["event_type"] for e in entries] == [
        "Customer.Registered",
        "Customer.ConsentGiven",
        "Interaction.Logged",
        "Customer.StageChanged",
    ]
    assert all(e["actor"].startswith("sales:") and e["recorded_at"] for e in entries)
    assert entries[0]["personal_fields"] == ["full_name", "phone"]
    assert entries[1]["details"]["evidence_ref"] == "form-0001"
    assert entries[3]["details"] == {"stage": "prospect"}
    assert all(e["personal"] is None for e in entries)
    assert "Thời Gian" not in response.text and "gói cước" not in response.text


@pytest.mark.requirement("PROCESSING-LOG")
def test_sales_open_personal_values_for_a_purpose_and_the_read_is_recorded(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = history(callers, marketing)

    response = timeline(callers["sales"], written, purpose="marketing-email")

    entries = response.json()["entries"]
    assert entries[0]["personal"]["full_name"] == "Đỗ Thị Dòng Thời Gian"
    assert entries[2]["personal"] == {"text": "Hỏi giá gói cước"}
    recorded = services.crm.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(PersonalDataAccess.Recorded)]
    )
    access = services.crm.repository.get(recorded[-1].originator_id)
    assert access.fields == ["full_name", "interaction.text", "phone"]


@pytest.mark.requirement("ROLE-ACCESS")
def test_auditors_get_no_personal_values_even_naming_a_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = history(callers, marketing)

    response = timeline(callers["auditor"], written, purpose="marketing-email")

    assert response.status_code == 403
    assert "leave out `purpose`" in response.json()["error"]["message"]


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_opening_the_timeline_needs_a_basis_for_the_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = history(callers, marketing)
    withdrawn = callers["sales"].post(
        f"/v1/customers/{written['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    after = {"id": written["id"], "position": withdrawn.json()["position"]}
    response = timeline(callers["sales"], after, purpose="marketing-email")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_basis_for_purpose"


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_purges_personal_values_but_keeps_the_record_for_auditors(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = history(callers, marketing)
    erased = callers["dpo"].post(
        f"/v1/customers/{written['id']}/erasure", json={"ground": "DSR-ERASE 3"}
    )
    after = {"id": written["id"], "position": erased.json()["shredded"]["position"]}

    audited = timeline(callers["auditor"], after)
    for_sales = timeline(callers["sales"], after)

    types = [e["event_type"] for e in audited.json()["entries"]]
    assert types[-2:] == ["Customer.ErasureRequested", "Customer.DataKeyShredded"]
    assert all(e["personal_fields"] == [] for e in audited.json()["entries"])
    assert for_sales.status_code == 404


def test_timeline_pages_with_a_cursor(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = history(callers, marketing)

    first = timeline(callers["sales"], written, limit=3).json()
    rest = timeline(callers["sales"], written, cursor=first["next_cursor"]).json()

    positions = [e["position"] for e in first["entries"] + rest["entries"]]
    assert len(positions) == 4 and positions == sorted(positions)
    assert rest["next_cursor"] is None
