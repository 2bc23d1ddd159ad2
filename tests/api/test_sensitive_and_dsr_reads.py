"""Sensitive purposes need the stricter role; the dpo reads any customer for a
data-subject request, and that read is recorded like any other."""

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from api.wiring import Services
from domain.access import PersonalDataAccess
from tests.api.conftest import Caller, purpose_body, registration

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def credit_check(callers: dict[str, Caller], marketing: dict[str, Any]) -> Any:
    """A customer with an agreement for a purpose covering sensitive data."""
    body = purpose_body("credit-check", "agreement")
    body["data_categories"] = [
        {"name": "contact", "sensitivity": "basic"},
        {"name": "income and debts", "sensitivity": "sensitive"},
    ]
    callers["admin"].post("/v1/purposes", json=body)
    callers["admin"].post(
        "/v1/purposes/credit-check/notices",
        json={
            "text_vi": "Chúng tôi thẩm định tín dụng theo hợp đồng.",
            "text_en": "We check credit under the agreement.",
            "sensitive_statement_vi": "Chúng tôi xử lý thu nhập và các khoản nợ.",
            "sensitive_statement_en": "We process your income and debts.",
        },
    )
    written = callers["sales"].post("/v1/customers", json=registration(marketing))
    return (
        callers["sales"]
        .post(
            f"/v1/customers/{written.json()['id']}/agreements",
            json={"purpose_code": "credit-check", "agreement_ref": "HD-TD-1"},
        )
        .json()
    )


def read(caller: Caller, written: dict[str, Any], purpose: str) -> Any:
    return caller.get(
        f"/v1/customers/{written['id']}",
        params={"purpose": purpose, "after_position": written["position"]},
    )


@pytest.mark.requirement("SENSITIVE-DATA")
def test_sales_may_not_read_for_a_sensitive_purpose(
    callers: dict[str, Caller], credit_check: dict[str, Any]
) -> None:
    response = read(callers["sales"], credit_check, "credit-check")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "sensitive_purpose"
    assert "data protection officer" in response.json()["error"]["message"]


@pytest.mark.requirement("SENSITIVE-DATA")
def test_the_dpo_reads_for_a_sensitive_purpose_with_a_basis(
    callers: dict[str, Caller], credit_check: dict[str, Any]
) -> None:
    response = read(callers["dpo"], credit_check, "credit-check")

    assert response.status_code == 200
    assert response.json()["personal"]["full_name"] == "Nguyễn Văn An"


def test_purposes_say_whether_they_cover_sensitive_data(
    callers: dict[str, Caller], credit_check: dict[str, Any]
) -> None:
    listed = (
        callers["manager"]
        .get("/v1/purposes", params={"after_position": credit_check["position"]})
        .json()
    )

    assert {p["code"]: p["sensitive"] for p in listed} == {
        "credit-check": True,
        "marketing-email": False,
    }


@pytest.mark.requirement("PROCESSING-LOG")
def test_the_dpo_reads_any_customer_for_a_data_subject_request_and_it_is_recorded(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))
    withdrawn = callers["sales"].post(
        f"/v1/customers/{written.json()['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    response = read(callers["dpo"], withdrawn.json(), "data-subject-request")

    assert response.status_code == 200
    assert response.json()["personal"]["phone"] == "0912 345 678"
    recorded = services.crm.recorder.select_notifications(
        start=None, limit=10, topics=[get_topic(PersonalDataAccess.Recorded)]
    )
    access = services.crm.repository.get(recorded[-1].originator_id)
    assert access.purpose_code == "data-subject-request"
    assert access.customer_id == UUID(written.json()["id"])


@pytest.mark.requirement("PURPOSE-LIMITATION")
def test_only_the_dpo_may_name_a_data_subject_request(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))

    response = read(callers["sales"], written.json(), "data-subject-request")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "no_basis_for_purpose"
