"""CSV exports: non-personal by role; personal ones only with a recipient, an
agreement and a basis, and recorded before they are sent (NO-SALE)."""

import csv
import io
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from api.wiring import Services
from domain.access import PersonalDataExport
from tests.api.conftest import Caller, purpose_body, registration

pytestmark = pytest.mark.usefixtures("backend")


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def register(sales: Caller, marketing: dict[str, Any], **fields: Any) -> Any:
    response = sales.post(
        "/v1/customers", json=registration(marketing, email="xuat@example.vn", **fields)
    )
    assert response.status_code == 201, response.json()
    return response.json()


def disclosure(**changes: Any) -> dict[str, Any]:
    body = {
        "purpose": "marketing-email",
        "recipient": "Công ty TNHH Gửi Thư",
        "agreement_ref": "DPA-2026-014",
        "basis": "consent",
        "fields": ["full_name", "email"],
    }
    return {**body, **changes}


@pytest.mark.requirement("ROLE-ACCESS")
def test_managers_export_non_personal_columns_only(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing, tags=["vip"], province="Huế")

    response = callers["manager"].get(
        "/v1/exports/customers.csv",
        params={"after_position": written["position"], "tag": "vip"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    [row] = rows(response)
    assert row["id"] == written["id"] and row["province"] == "Huế"
    assert row["consents"] == "marketing-email:given"
    assert "Nguyễn" not in response.text and "xuat@" not in response.text


@pytest.mark.requirement("NO-SALE")
def test_a_personal_export_is_recorded_with_recipient_agreement_basis_and_ids(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    written = register(callers["sales"], marketing)

    response = callers["sales"].post(
        "/v1/exports/customers",
        json=disclosure(after_position=written["position"]),
    )

    assert response.status_code == 200
    [row] = rows(response)
    assert row["full_name"] == "Nguyễn Văn An" and row["email"] == "xuat@example.vn"
    [stored] = services.crm.recorder.select_notifications(
        start=None, limit=10, topics=[get_topic(PersonalDataExport.Recorded)]
    )
    export = services.crm.repository.get(stored.originator_id)
    assert str(export.id) == response.headers["Export-Id"]
    assert export.recipient == "Công ty TNHH Gửi Thư"
    assert export.agreement_ref == "DPA-2026-014" and export.basis == "consent"
    assert export.fields == ["email", "full_name"]
    assert [UUID(str(i)) for i in export.customer_ids] == [UUID(written["id"])]
    assert b"xuat@example.vn" not in stored.state


@pytest.mark.requirement("NO-SALE")
@pytest.mark.parametrize("missing", ["recipient", "agreement_ref", "basis"])
def test_a_personal_export_without_recipient_agreement_or_basis_is_refused(
    callers: dict[str, Caller],
    marketing: dict[str, Any],
    services: Services,
    missing: str,
) -> None:
    register(callers["sales"], marketing)
    before = services.crm.recorder.max_notification_id()
    body = disclosure()
    del body[missing]

    response = callers["sales"].post("/v1/exports/customers", json=body)

    assert response.status_code == 422
    assert missing in response.json()["error"]["message"]
    assert services.crm.recorder.max_notification_id() == before


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_customers_without_a_basis_for_the_purpose_are_left_out(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    kept = register(callers["sales"], marketing)
    gone = register(callers["sales"], marketing)
    withdrawn = callers["sales"].post(
        f"/v1/customers/{gone['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    response = callers["dpo"].post(
        "/v1/exports/customers",
        json=disclosure(after_position=withdrawn.json()["position"]),
    )

    assert [r["id"] for r in rows(response)] == [kept["id"]]
    assert response.headers["Excluded-Without-Basis"] == "1"


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers["sales"], marketing, owner="=HYPERLINK(1)")

    response = callers["manager"].get(
        "/v1/exports/customers.csv", params={"after_position": written["position"]}
    )

    assert rows(response)[0]["owner"] == "'=HYPERLINK(1)"


@pytest.mark.requirement("SENSITIVE-DATA")
def test_exporting_for_a_sensitive_purpose_needs_the_stricter_role(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    body = purpose_body("credit-check", "agreement")
    body["data_categories"] = [{"name": "income", "sensitivity": "sensitive"}]
    callers["admin"].post("/v1/purposes", json=body)
    register(callers["sales"], marketing)

    response = callers["sales"].post(
        "/v1/exports/customers",
        json=disclosure(purpose="credit-check", basis="agreement"),
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "sensitive_purpose"


@pytest.mark.requirement("CHILDREN")
@pytest.mark.requirement("NO-SALE")
def test_a_personal_export_for_a_purpose_that_discloses_nothing_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    body = {**purpose_body("loyalty", "agreement"), "discloses": False}
    callers["admin"].post("/v1/purposes", json=body)
    written = register(callers["sales"], marketing)
    callers["sales"].post(
        f"/v1/customers/{written['id']}/agreements",
        json={"purpose_code": "loyalty", "agreement_ref": "HD-9"},
    )

    response = callers["sales"].post(
        "/v1/exports/customers", json=disclosure(purpose="loyalty", basis="agreement")
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "purpose_does_not_disclose"
    assert "discloses: true" in response.json()["error"]["message"]
    topics = [get_topic(PersonalDataExport.Recorded)]
    assert not services.crm.recorder.select_notifications(1, 10, topics=topics)


def test_a_field_named_twice_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    response = callers["sales"].post(
        "/v1/exports/customers", json=disclosure(fields=["email", "email"])
    )

    assert response.status_code == 422
    assert "each personal field once" in response.json()["error"]["message"]
