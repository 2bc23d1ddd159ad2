"""Managers see statistics, with small groups suppressed, and no personal values."""

from typing import Any

import pytest

from tests.api.conftest import Caller, registration


@pytest.mark.requirement("AGGREGATES-ONLY")
def test_manager_statistics_hide_small_groups_and_show_no_person(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    stages = ["lead"] * 5 + ["prospect", "customer"]
    for number, stage in enumerate(stages):
        body = registration(marketing, full_name=f"Khách Thống Kê {number}")
        written = callers["sales"].post("/v1/customers", json={**body, "stage": stage})

    response = callers["manager"].get(
        "/v1/statistics/customers",
        params={"after_position": written.json()["position"]},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["customers"] == 7
    assert {g["value"]: g["count"] for g in body["by_stage"]} == {
        "customer": None,
        "lead": 5,
        "prospect": None,
    }
    assert body["consent_rates"] == [{"purpose_code": "marketing-email", "rate": None}]
    assert "Thống Kê" not in response.text


@pytest.mark.requirement("ROLE-ACCESS")
def test_managers_cannot_read_personal_fields(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))

    response = callers["manager"].get(
        f"/v1/customers/{written.json()['id']}", params={"purpose": "marketing-email"}
    )

    assert response.status_code == 403
