"""One access-log line per request, with ids only: never personal values or tokens."""

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.wiring import Services, open_services
from tests.api.conftest import Caller, registration
from tests.api.security_support import reconfigured


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "api.access"]


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records) + caplog.text


def test_each_request_writes_one_line_with_route_status_actor_and_request_id(
    callers: dict[str, Caller],
    marketing: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sales = callers["sales"]
    created = sales.post("/v1/customers", json=registration(marketing)).json()
    caplog.clear()

    with caplog.at_level(logging.INFO, logger="api.access"):
        response = sales.client.get(
            f"/v1/customers/{created['id']}",
            params={
                "purpose": "marketing-email",
                "after_position": created["position"],
            },
            headers={**sales.headers, "X-Request-ID": "req-42"},
        )

    lines = access_lines(caplog)
    assert response.headers["x-request-id"] == "req-42"
    assert len(lines) == 1
    assert lines[0].startswith("GET /v1/customers/{customer_id} 200 ")
    assert "request_id=req-42" in lines[0]
    assert "actor=sales:" in lines[0]
    assert "ms" in lines[0]


def test_requests_without_an_id_get_a_new_one(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.access"):
        response = client.get("/v1/purposes", headers={"X-Request-ID": "bad id\n!"})

    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and request_id != "bad id\n!"
    assert access_lines(caplog) == [
        line for line in access_lines(caplog) if f"request_id={request_id}" in line
    ]
    assert "actor=-" in access_lines(caplog)[0]


@pytest.fixture
def json_client(settings: Settings) -> Iterator[TestClient]:
    opened = open_services(reconfigured(settings, access_log_json=True))
    try:
        with TestClient(create_app(opened)) as test_client:
            yield test_client
    finally:
        opened.close()


def test_json_access_log_on_request(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.access"):
        json_client.get("/v1/nowhere/at/all")

    (line,) = access_lines(caplog)
    fields = json.loads(line)
    assert set(fields) == {
        "time",
        "method",
        "route",
        "status",
        "duration_ms",
        "actor",
        "request_id",
    }
    assert fields["route"] == "unmatched"
    assert fields["status"] == 404


def test_logs_hold_no_personal_values_tokens_or_queries(
    services: object,
    callers: dict[str, Caller],
    marketing: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sales = callers["sales"]
    token = sales.headers["Authorization"].removeprefix("Bearer ")
    body = registration(marketing, email="an.nguyen@example.vn")

    with caplog.at_level(logging.DEBUG):
        created = sales.post("/v1/customers", json=body).json()
        sales.get(
            f"/v1/customers/{created['id']}",
            params={
                "purpose": "marketing-email",
                "after_position": created["position"],
            },
        )
        sales.client.get(
            "/v1/purposes", headers={"Authorization": token.replace("_", "-")}
        )
        sales.client.get("/v1/purposes", headers={"Authorization": f"Bearer {token}x"})

    text = all_log_text(caplog)
    assert access_lines(caplog)
    for secret in ("Nguyễn Văn An", "0912 345 678", "an.nguyen@example.vn"):
        assert secret not in text
    assert token not in text
    assert token.split("_")[2] not in text
    assert "marketing-email" not in "\n".join(access_lines(caplog))  # no queries


def test_an_unexpected_error_is_logged_with_the_request_id(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(services, run_background_work=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("failure for the test")

    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        response = client.get("/boom", headers={"X-Request-ID": "req-boom"})

    assert response.status_code == 500
    assert any(
        "unexpected error on GET /boom (request_id=req-boom)" in r.getMessage()
        for r in caplog.records
    )
    assert any(
        line.startswith("GET /boom 500 ") and "request_id=req-boom" in line
        for line in access_lines(caplog)
    )
