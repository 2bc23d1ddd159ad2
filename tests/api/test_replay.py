"""Auditor replay: a customer's state at a moment, rebuilt from the events."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Caller, registration


def replay(caller: Caller, customer_id: str, as_of: datetime) -> Any:
    return caller.get(
        f"/v1/customers/{customer_id}/replay", params={"as_of": as_of.isoformat()}
    )


@pytest.mark.requirement("CONSENT-PROOF")
def test_replay_shows_the_consent_as_it_stood_before_its_withdrawal(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    sales = callers["sales"]
    written = sales.post("/v1/customers", json=registration(marketing)).json()
    before_withdrawal = datetime.now(UTC)
    sales.post(
        f"/v1/customers/{written['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    then = replay(callers["auditor"], written["id"], before_withdrawal).json()
    now = replay(callers["auditor"], written["id"], datetime.now(UTC)).json()

    assert then["consents"]["marketing-email"]["withdrawn_at"] is None
    assert now["consents"]["marketing-email"]["withdrawn_at"] is not None
    assert then["version"] < now["version"]


def test_auditors_replay_without_personal_fields_and_the_dpo_with_them(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    body = registration(marketing, full_name="Tạ Minh Replay")
    written = callers["sales"].post("/v1/customers", json=body).json()
    moment = datetime.now(UTC)

    audited = replay(callers["auditor"], written["id"], moment)
    for_dpo = replay(callers["dpo"], written["id"], moment)

    assert audited.json()["personal"] is None
    assert "Replay" not in audited.text
    assert for_dpo.json()["personal"]["full_name"] == "Tạ Minh Replay"


def test_replay_before_registration_finds_no_customer(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))

    response = replay(
        callers["auditor"], written.json()["id"], datetime.now(UTC) - timedelta(days=1)
    )

    assert response.status_code == 404


@pytest.mark.requirement("CONSENT-PROOF")
def test_replay_at_a_notification_position_shows_the_state_written_there(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    sales = callers["sales"]
    written = sales.post("/v1/customers", json=registration(marketing)).json()
    staged = sales.patch(
        f"/v1/customers/{written['id']}/profile", json={"stage": "customer"}
    ).json()
    sales.patch(f"/v1/customers/{written['id']}/profile", json={"stage": "inactive"})

    then = callers["auditor"].get(
        f"/v1/customers/{written['id']}/replay",
        params={"as_of_position": staged["position"]},
    )

    assert then.status_code == 200
    assert then.json()["stage"] == "customer"
    assert then.json()["as_of_position"] == staged["position"]


def test_replay_needs_exactly_one_of_a_time_and_a_position(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))

    neither = callers["auditor"].get(f"/v1/customers/{written.json()['id']}/replay")

    assert neither.status_code == 422
    assert "as_of_position" in neither.json()["error"]["message"]
