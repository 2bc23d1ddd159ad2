"""CHILDREN over the API: a representative's consent for a customer under 16."""

from datetime import date
from typing import Any

import pytest

from tests.api.conftest import Caller, purpose_body, registration


@pytest.mark.requirement("CHILDREN")
def test_registering_a_child_needs_the_representative_consent(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    born = date(date.today().year - 10, 1, 1).isoformat()
    body = registration(marketing, date_of_birth=born)

    refused = callers["sales"].post("/v1/customers", json=body)
    body["consents"][0]["representative"] = {
        "full_name": "Trần Thị Mẹ",
        "relationship": "parent",
        "evidence_ref": "paper-form-88",
    }
    body["consents"][0]["child_consented"] = True
    accepted = callers["sales"].post("/v1/customers", json=body)

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "child_consent_required"
    assert accepted.status_code == 201, accepted.json()


@pytest.mark.requirement("CHILDREN")
def test_a_child_of_10_needs_only_the_representative_where_nothing_is_disclosed(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    admin = callers["admin"]
    admin.post(
        "/v1/purposes", json={**purpose_body("loyalty", "consent"), "discloses": False}
    )
    notice = admin.post(
        "/v1/purposes/loyalty/notices",
        json={"text_vi": "Tích điểm.", "text_en": "Points."},
    ).json()
    loyalty = {"code": "loyalty", "version": 1, "sha": notice["text_sha256"]}
    born = date(date.today().year - 10, 1, 1).isoformat()
    parent = {
        "full_name": "Trần Thị Mẹ",
        "relationship": "parent",
        "evidence_ref": "paper-form-88",
    }
    bodies = [registration(p, date_of_birth=born) for p in (loyalty, marketing)]
    for body in bodies:
        body["consents"][0]["representative"] = parent

    accepted, refused = (callers["sales"].post("/v1/customers", json=b) for b in bodies)

    assert accepted.status_code == 201, accepted.json()
    assert refused.status_code == 422
    assert "discloses data" in refused.json()["error"]["message"]
    purpose = (
        callers["sales"]
        .get("/v1/purposes/loyalty", params={"after_position": notice["position"]})
        .json()
    )
    assert purpose["discloses"] is False
