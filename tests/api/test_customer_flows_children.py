"""CHILDREN over the API: a representative's consent for a customer under 16."""

from datetime import date
from typing import Any

import pytest

from tests.api.conftest import Caller, registration


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
