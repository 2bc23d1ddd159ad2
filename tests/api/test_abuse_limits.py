"""Abuse limits: the per-token rate limit and the bulk-read alert."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.wiring import Services, open_services
from domain.security import security_events
from tests.api.conftest import Caller, purpose_body
from tests.api.security_support import reconfigured


@pytest.fixture
def limited(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Services]:
    """Services with the settings a test names through `pytest.mark.settings`."""
    marker = request.node.get_closest_marker("settings")
    opened = open_services(reconfigured(settings, **(marker.kwargs if marker else {})))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def limited_client(limited: Services) -> Iterator[TestClient]:
    with TestClient(create_app(limited, run_background_work=False)) as test_client:
        yield test_client


def caller(client: TestClient, services: Services, role: str) -> Caller:
    return Caller(client, services.access.create(role, f"limits-{role}")[1])


def customers(admin: Caller, sales: Caller, count: int) -> list[dict[str, Any]]:
    """`count` registered customers, with the read side caught up."""
    admin.post("/v1/purposes", json=purpose_body("service", "agreement"))
    agreement = {"purpose_code": "service", "agreement_ref": "contract-1"}
    body = {"full_name": "Lê Thị C", "agreements": [agreement]}
    return [sales.post("/v1/customers", json=body).json() for _ in range(count)]


def read(sales: Caller, customer: dict[str, Any]) -> Any:
    return sales.get(f"/v1/customers/{customer['id']}", params={"purpose": "service"})


@pytest.mark.settings(rate_limit_per_minute=3)
def test_a_token_over_its_rate_gets_429_with_retry_after(
    limited_client: TestClient, limited: Services
) -> None:
    auditor = caller(limited_client, limited, "auditor")
    other = caller(limited_client, limited, "auditor")

    answers = [auditor.get("/v1/purposes") for _ in range(4)]
    others = other.get("/v1/purposes")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert others.status_code == 200  # the limit is per token


@pytest.mark.requirement("ROLE-ACCESS")
@pytest.mark.settings(bulk_read_customers=2, bulk_read_suspends=True)
def test_reading_too_many_customers_raises_an_alert_and_suspends_the_token(
    limited_client: TestClient, limited: Services
) -> None:
    admin = caller(limited_client, limited, "admin")
    sales = caller(limited_client, limited, "sales")
    three = customers(admin, sales, 3)
    limited.runner.catch_up()

    first, second, third = (read(sales, customer) for customer in three)
    again = read(sales, three[0])

    assert [first.status_code, second.status_code] == [200, 200]
    assert third.status_code == 403
    assert third.json()["error"]["code"] == "suspended"
    assert again.status_code == 401 and "suspended" in again.text
    (alert,) = security_events(limited.crm, "bulk-read-alert")
    assert alert.details["customers"] == 3 and alert.details["threshold"] == 2
    assert alert.details["suspended"] is True
    (suspension,) = security_events(limited.crm, "token-suspended")
    assert suspension.principal_id == alert.principal_id

    limited.access.reinstate(alert.principal_id)
    assert read(sales, three[0]).status_code == 200


@pytest.mark.settings(bulk_read_customers=2)
def test_without_suspension_the_alert_is_raised_and_the_read_served(
    limited_client: TestClient, limited: Services
) -> None:
    admin = caller(limited_client, limited, "admin")
    sales = caller(limited_client, limited, "sales")
    four = customers(admin, sales, 4)
    limited.runner.catch_up()

    statuses = [read(sales, customer).status_code for customer in four]
    rereads = [read(sales, customer).status_code for customer in four[:2]]

    assert statuses == [200, 200, 200, 200] and rereads == [200, 200]
    (alert,) = security_events(limited.crm, "bulk-read-alert")  # one per episode
    assert alert.details["suspended"] is False
    metrics = limited_client.app.state.metrics  # type: ignore[attr-defined]
    raised = metrics.registry.get_sample_value(
        "ledgercrm_security_alerts_total", {"kind": "bulk-read"}
    )
    assert raised == 1


@pytest.mark.settings(bulk_read_customers=2)
def test_rereading_the_same_customers_raises_no_alert(
    limited_client: TestClient, limited: Services
) -> None:
    admin = caller(limited_client, limited, "admin")
    sales = caller(limited_client, limited, "sales")
    two = customers(admin, sales, 2)
    limited.runner.catch_up()

    statuses = [read(sales, customer).status_code for customer in two * 5]

    assert set(statuses) == {200}
    assert security_events(limited.crm, "bulk-read-alert") == []


@pytest.mark.settings(bulk_read_customers=1)
def test_replays_count_as_personal_reads_for_the_dpo_only(
    limited_client: TestClient, limited: Services
) -> None:
    admin = caller(limited_client, limited, "admin")
    sales = caller(limited_client, limited, "sales")
    two = customers(admin, sales, 2)
    auditor = caller(limited_client, limited, "auditor")
    dpo = caller(limited_client, limited, "dpo")

    for customer in two:
        auditor.get(f"/v1/customers/{customer['id']}/replay")
    assert security_events(limited.crm, "bulk-read-alert") == []
    for customer in two:
        dpo.get(f"/v1/customers/{customer['id']}/replay")

    (alert,) = security_events(limited.crm, "bulk-read-alert")
    assert alert.details["role"] == "dpo"


@pytest.mark.requirement("ROLE-ACCESS")
@pytest.mark.settings(bulk_read_customers=2, bulk_read_suspends=True)
def test_a_personal_export_of_too_many_customers_raises_the_alert_and_suspends(
    limited_client: TestClient, limited: Services
) -> None:
    admin = caller(limited_client, limited, "admin")
    sales = caller(limited_client, limited, "sales")
    customers(admin, sales, 3)
    export = {
        "purpose": "service",
        "recipient": "Công ty TNHH Gửi Thư",
        "agreement_ref": "DPA-2026-014",
        "basis": "agreement",
        "fields": ["full_name"],
    }
    for runner in limited.runners:
        runner.catch_up()

    exported = sales.post("/v1/exports/customers", json=export)
    afterwards = sales.get("/v1/purposes")

    assert exported.status_code == 200  # recorded before it was answered
    (alert,) = security_events(limited.crm, "bulk-read-alert")
    assert alert.details["customers"] == 3
    assert afterwards.status_code == 401 and "suspended" in afterwards.text
