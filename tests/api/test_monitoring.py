"""/metrics, /healthz and /readyz: who may read them and what they say."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.monitoring import BackgroundWork
from api.privacy import privacy_office
from api.routes.health import readiness_problems
from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor
from domain.privacy_office import RequestIntake
from tests.api.conftest import Caller, purpose_body, registration
from tests.api.security_support import reconfigured

REMOTE = ("203.0.113.7", 40000)
LOOPBACK = ("127.0.0.1", 40000)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


def scrape(client: TestClient) -> str:
    """/metrics of the client's app, asked from loopback."""
    local = TestClient(client.app, client=LOOPBACK)  # type: ignore[arg-type]
    response = local.get("/metrics")
    assert response.status_code == 200
    return response.text


def scrape_when(client: TestClient, ready: Callable[[str], bool]) -> str:
    """Scrapes until the background work has caught up (bounded)."""
    deadline = time.monotonic() + 30
    page = scrape(client)
    while not ready(page) and time.monotonic() < deadline:
        time.sleep(0.05)
        page = scrape(client)
    return page


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    return reconfigured(settings, metrics_token="scrape-secret-0123456789")


@pytest.fixture
def monitored(token_settings: Settings) -> Iterator[Services]:
    opened = open_services(token_settings)
    try:
        yield opened
    finally:
        opened.close()


def test_metrics_are_refused_to_a_remote_caller_without_the_token(
    monitored: Services,
) -> None:
    with TestClient(create_app(monitored), client=REMOTE) as remote:
        anonymous = remote.get("/metrics")
        wrong = remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = remote.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"}
        )

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")


def test_metrics_answer_on_loopback_without_a_token(services: Services) -> None:
    with TestClient(create_app(services), client=LOOPBACK) as local:
        direct = local.get("/metrics")
        relayed = local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"})

    assert direct.status_code == 200
    assert relayed.status_code == 401  # a proxy on the same host relays outsiders


def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, callers: dict[str, Caller], marketing: dict[str, str]
) -> None:
    sales = callers["sales"]
    created = sales.post("/v1/customers", json=registration(marketing)).json()
    for _ in range(2):
        sales.get(
            f"/v1/customers/{created['id']}",
            params={
                "purpose": "marketing-email",
                "after_position": created["position"],
            },
        )
    callers["manager"].get(f"/v1/customers/{created['id']}")

    page = scrape(client)
    route = "/v1/customers/{customer_id}"

    assert (
        value(
            page,
            "ledgercrm_http_requests_total",
            method="GET",
            route=route,
            status="200",
        )
        == 2
    )
    assert (
        value(
            page,
            "ledgercrm_http_requests_total",
            method="GET",
            route=route,
            status="403",
        )
        == 1
    )
    assert (
        value(
            page,
            "ledgercrm_http_request_duration_seconds_count",
            method="GET",
            route=route,
        )
        == 3
    )
    assert created["id"] not in page  # templates, never concrete paths


def test_metrics_report_commands_lags_and_data_keys(
    services: Services, callers: dict[str, Caller], marketing: dict[str, str]
) -> None:
    sales, dpo = callers["sales"], callers["dpo"]
    first = sales.post("/v1/customers", json=registration(marketing)).json()
    sales.post("/v1/customers", json=registration(marketing, full_name="Trần Thị B"))
    dpo.post(f"/v1/customers/{first['id']}/erasure", json={"ground": "withdrawn"})
    page = scrape_when(
        callers["sales"].client,
        lambda page: (
            value(page, "ledgercrm_ledger_lag_events") == 0
            and value(page, "ledgercrm_projection_lag_events", projection="erasures")
            == 0
        ),
    )

    assert value(page, "ledgercrm_commands_total", type="Customer.Registered") == 2
    assert value(page, "ledgercrm_data_keys", state="created") == 2
    assert value(page, "ledgercrm_data_keys", state="shredded") == 1
    assert (
        value(page, "ledgercrm_projection_lag_events", projection="customers_by_id")
        == 0
    )
    assert value(page, "ledgercrm_ledger_lag_events") == 0
    assert value(page, "ledgercrm_ledger_checkpoint_age_seconds") >= 0


def test_metrics_count_overdue_data_subject_requests(
    services: Services, callers: dict[str, Caller]
) -> None:
    office = privacy_office(services)
    dpo = Actor(user_id="dpo-1", role="dpo")
    long_ago = datetime(2026, 2, 13, 9, tzinfo=UTC)
    asked = {"requester_name": "Lan Nguyễn", "requester_contact": "lan@example.vn"}
    office.receive_request(dpo, RequestIntake("access", **asked), long_ago)
    office.receive_request(dpo, RequestIntake("erase", **asked))

    page = scrape(callers["dpo"].client)

    assert value(page, "ledgercrm_subject_requests_overdue") == 1


def test_ledger_lag_counts_events_awaiting_a_signed_ledger_checkpoint(
    services: Services,
) -> None:
    local = TestClient(create_app(services, run_background_work=False), client=LOOPBACK)
    admin = Caller(local, services.access.create("admin", "lag-admin")[1])
    before = value(local.get("/metrics").text, "ledgercrm_ledger_lag_events")

    admin.post("/v1/purposes", json=purpose_body("newsletter", "consent"))
    after = value(local.get("/metrics").text, "ledgercrm_ledger_lag_events")
    with services.ledger_integrator() as integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()
    signed = value(local.get("/metrics").text, "ledgercrm_ledger_lag_events")

    assert after - before >= 1
    assert signed == 0


def test_healthz_and_readyz_answer_in_json(client: TestClient) -> None:
    local = TestClient(client.app, client=LOOPBACK)  # type: ignore[arg-type]
    alive = local.get("/healthz")
    ready = local.get("/readyz")

    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert ready.status_code == 200, ready.json()
    assert ready.json() == {"status": "ok", "problems": []}


def test_readyz_says_what_is_wrong(settings: Settings, tmp_path: Path) -> None:
    strict = reconfigured(settings, ledger_lag_limit=0)
    opened = open_services(strict)
    try:
        app = create_app(opened, run_background_work=False)
        with TestClient(app, client=LOOPBACK) as local:
            local.app.state.security.record("system:test", "security-check")  # type: ignore[attr-defined]
            response = local.get("/readyz")
    finally:
        opened.close()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert any("await a signed ledger checkpoint" in p for p in body["problems"])


def test_health_needs_a_token_or_loopback(client: TestClient) -> None:
    anonymous = client.get("/readyz")

    assert anonymous.status_code == 401


def test_readyz_names_background_work_that_stopped(services: Services) -> None:
    finished = threading.Thread(target=lambda: None)
    finished.start()
    finished.join()
    background = BackgroundWork({"the ledger integrator": finished})

    problems = readiness_problems(services, background)

    assert problems == ["the ledger integrator is not running"]


def test_readyz_says_when_a_database_is_unreachable(settings: Settings) -> None:
    opened = open_services(settings)
    opened.read_models.close()
    try:
        problems = readiness_problems(opened, BackgroundWork())
    finally:
        opened.crm.close()
        opened.access.database.close()
        opened.data_keys.store.close()
        opened.ledger_store.close()

    assert len(problems) == 1
    assert problems[0].startswith("a database is unreachable")
