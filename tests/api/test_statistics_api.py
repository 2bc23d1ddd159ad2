"""Managers see statistics, with small groups suppressed, and no personal values."""

from typing import Any

import pytest

from api.wiring import Services
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


@pytest.mark.requirement("AGGREGATES-ONLY")
def test_statistics_count_by_province_and_follow_the_configured_threshold(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    provinces = ["Hà Nội"] * 3 + ["Huế", "Cần Thơ"]
    for number, province in enumerate(provinces):
        body = registration(marketing, full_name=f"Khách Tỉnh {number}")
        written = callers["sales"].post(
            "/v1/customers", json={**body, "province": province}
        )
    services.settings.__dict__["statistics_min_group"] = 3

    body = (
        callers["manager"]
        .get(
            "/v1/statistics/customers",
            params={"after_position": written.json()["position"]},
        )
        .json()
    )

    assert body["min_group"] == 3
    assert {g["value"]: g["count"] for g in body["by_province"]} == {
        "Cần Thơ": None,
        "Huế": None,
        "Hà Nội": 3,  # shown at 3; the default threshold of 5 would hide it
    }
