"""What each role receives: managers, auditors and administrators never receive a
personal value from any endpoint, whatever they ask."""

from datetime import UTC, datetime
from typing import Any

import pytest

from api.wiring import Services
from tests.api.conftest import Caller, registration

PERSONAL = {
    "full_name": "Quách Bí Mật",
    "phone": "0987 111 222",
    "email": "bimat@example.vn",
    "postal_address": "99 Ngõ Bí Mật",
    "date_of_birth": "1977-07-07",
}
NOTE = "Ghi chú riêng tư"


def requests(customer_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, params or body) for every read, with realistic arguments."""
    customer = f"/v1/customers/{customer_id}"
    purpose = {"purpose": "marketing-email"}
    return [
        ("GET", "/healthz", {}),
        ("GET", "/v1/purposes", {}),
        ("GET", "/v1/purposes/marketing-email", {}),
        ("GET", "/v1/purposes/marketing-email/contactable-customers", {}),
        ("GET", "/v1/customers", {}),
        ("GET", "/v1/customers", {"sort": "-registered_at", "tag": "vip"}),
        ("GET", customer, purpose),
        ("GET", customer, {"purpose": "data-subject-request"}),
        ("GET", f"{customer}/interactions", purpose),
        ("GET", f"{customer}/consents", {}),
        ("GET", f"{customer}/timeline", {}),
        ("GET", f"{customer}/timeline", purpose),
        ("GET", f"{customer}/replay", {"as_of": datetime.now(UTC).isoformat()}),
        ("GET", "/v1/exports/customers.csv", {}),
        ("GET", "/v1/statistics/customers", {}),
        ("GET", "/v1/ledger/entries", {"start": 0, "stop": 1000}),
        (
            "POST",
            "/v1/exports/customers",
            {
                **purpose,
                "recipient": "Mailing house",
                "agreement_ref": "DPA-1",
                "basis": "consent",
                "fields": list(PERSONAL),
            },
        ),
    ]


def send(caller: Caller, method: str, path: str, arguments: dict[str, Any]) -> Any:
    if method == "POST":
        return caller.post(path, json=arguments)
    return caller.get(path, params=arguments)


@pytest.fixture
def customer_id(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> str:
    """A customer with every personal field and a note, all read models caught up."""
    body = {**registration(marketing, **PERSONAL), "tags": ["vip"]}
    written = callers["sales"].post("/v1/customers", json=body).json()
    logged = callers["sales"].post(
        f"/v1/customers/{written['id']}/interactions",
        json={"kind": "note", "text": NOTE},
    )
    for runner in services.runners:
        assert runner.wait_for(logged.json()["position"], timeout=10)
    return str(written["id"])


@pytest.mark.requirement("ROLE-ACCESS")
@pytest.mark.parametrize("role", ["manager", "auditor", "admin"])
def test_roles_without_personal_access_never_receive_a_personal_value(
    callers: dict[str, Caller], customer_id: str, role: str
) -> None:
    answered = 0
    for method, path, arguments in requests(customer_id):
        response = send(callers[role], method, path, arguments)

        assert response.status_code < 500, (path, response.text)
        for value in [*PERSONAL.values(), NOTE]:
            assert value not in response.text, (role, path)
        answered += response.status_code == 200
    assert answered >= 3, "the role was answered, so the check is not vacuous"


@pytest.mark.parametrize("role", ["sales", "dpo"])
def test_sales_and_the_dpo_do_receive_personal_values_for_a_purpose(
    callers: dict[str, Caller], customer_id: str, role: str
) -> None:
    response = callers[role].get(
        f"/v1/customers/{customer_id}", params={"purpose": "marketing-email"}
    )

    assert response.json()["personal"]["email"] == PERSONAL["email"]
