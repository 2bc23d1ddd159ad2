"""Every endpoint against every role: who is admitted, who gets 401 or 403."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.roles import PERMISSIONS
from domain import ROLES
from tests.api.conftest import Caller

SOME_ID = str(uuid.uuid4())

# (method, path, permission, JSON body): one row per endpoint.
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", "/openapi.json", "health:read", None),
    ("GET", "/healthz", "health:read", None),
    ("GET", "/readyz", "health:read", None),
    ("GET", "/v1/purposes", "purposes:read", None),
    ("GET", "/v1/purposes/{code}", "purposes:read", None),
    ("POST", "/v1/purposes", "purposes:write", {}),
    ("POST", "/v1/purposes/{code}/notices", "purposes:write", {}),
    ("POST", "/v1/purposes/{code}/retire", "purposes:write", None),
    ("GET", "/v1/customers", "customers:list", None),
    ("POST", "/v1/customers", "customers:write", {}),
    ("GET", "/v1/customers/{customer_id}", "customers:read-personal", None),
    ("PATCH", "/v1/customers/{customer_id}/contact-details", "customers:write", {}),
    ("PATCH", "/v1/customers/{customer_id}/profile", "customers:write", {}),
    ("POST", "/v1/customers/{customer_id}/consents", "customers:write", {}),
    (
        "POST",
        "/v1/customers/{customer_id}/consents/{purpose_code}/withdrawal",
        "customers:write",
        {},
    ),
    ("POST", "/v1/customers/{customer_id}/agreements", "customers:write", {}),
    ("POST", "/v1/customers/{customer_id}/erasure", "customers:erase", {}),
    ("GET", "/v1/customers/{customer_id}/erasure-certificate", "customers:erase", None),
    ("POST", "/v1/customers/{customer_id}/interactions", "interactions:write", {}),
    ("GET", "/v1/customers/{customer_id}/interactions", "interactions:read", None),
    ("GET", "/v1/customers/{customer_id}/replay", "customers:replay", None),
    ("GET", "/v1/customers/{customer_id}/consents", "consents:read", None),
    ("GET", "/v1/customers/{customer_id}/timeline", "customers:timeline", None),
    ("GET", "/v1/purposes/{code}/contactable-customers", "consents:contactable", None),
    ("GET", "/v1/exports/customers.csv", "exports:read", None),
    ("POST", "/v1/exports/customers", "exports:personal", {}),
    ("GET", "/v1/statistics/customers", "statistics:read", None),
    ("GET", "/v1/ledger/checkpoint", "ledger:read", None),
    ("GET", "/v1/ledger/vkey", "ledger:read", None),
    ("GET", "/v1/ledger/entries", "ledger:read", None),
    ("GET", "/v1/ledger/tile/{tile_path}", "ledger:read", None),
    ("GET", "/v1/ledger/proofs/inclusion", "ledger:read", None),
    ("GET", "/v1/ledger/proofs/consistency", "ledger:read", None),
    ("POST", "/v1/dpo/requests", "requests:manage", {}),
    ("GET", "/v1/dpo/requests", "requests:manage", None),
    ("GET", "/v1/dpo/requests/overdue", "requests:manage", None),
    ("GET", "/v1/dpo/requests/due-soon", "requests:manage", None),
    ("GET", "/v1/dpo/requests/{request_id}", "requests:manage", None),
    (
        "POST",
        "/v1/dpo/requests/{request_id}/identity-verification",
        "requests:manage",
        {},
    ),
    ("POST", "/v1/dpo/requests/{request_id}/acknowledgment", "requests:manage", {}),
    ("POST", "/v1/dpo/requests/{request_id}/extension", "requests:manage", {}),
    ("POST", "/v1/dpo/requests/{request_id}/refusal", "requests:manage", {}),
    ("POST", "/v1/dpo/requests/{request_id}/fulfilment", "requests:manage", {}),
    ("GET", "/v1/dpo/requests/{request_id}/access-package", "requests:manage", None),
    (
        "GET",
        "/v1/dpo/customers/{customer_id}/consents/{purpose_code}/record",
        "requests:manage",
        None,
    ),
    (
        "POST",
        "/v1/dpo/customers/{customer_id}/restriction-lift",
        "requests:manage",
        {},
    ),
    ("POST", "/v1/dpo/complaints", "incidents:manage", {}),
    ("GET", "/v1/dpo/complaints", "incidents:manage", None),
    ("GET", "/v1/dpo/complaints/{complaint_id}", "incidents:manage", None),
    ("POST", "/v1/dpo/complaints/{complaint_id}/assignment", "incidents:manage", {}),
    ("POST", "/v1/dpo/complaints/{complaint_id}/closure", "incidents:manage", {}),
    ("POST", "/v1/dpo/incidents", "incidents:manage", {}),
    ("GET", "/v1/dpo/incidents", "incidents:manage", None),
    ("GET", "/v1/dpo/incidents/{incident_id}", "incidents:manage", None),
    ("POST", "/v1/dpo/incidents/{incident_id}/form", "incidents:manage", {}),
    ("GET", "/v1/dpo/incidents/{incident_id}/notification", "incidents:manage", None),
    ("POST", "/v1/dpo/incidents/{incident_id}/scope", "incidents:manage", {}),
    (
        "POST",
        "/v1/dpo/incidents/{incident_id}/authority-notification",
        "incidents:manage",
        {},
    ),
    ("POST", "/v1/dpo/incidents/{incident_id}/closure", "incidents:manage", None),
    ("GET", "/v1/dpo/reads", "incidents:manage", None),
    ("GET", "/v1/dpo/stores", "assessment:manage", None),
    ("GET", "/v1/dpo/suppression-list", "suppression:read", None),
    ("POST", "/v1/dpo/transfers", "assessment:manage", {}),
    ("GET", "/v1/dpo/dpia", "assessment:manage", None),
]

# Endpoints the issues make public on purpose: no token, rate-limited where they
# take input (method, path, JSON body, status a stranger gets).
PUBLIC_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/v1/public/privacy", None, 200),
    ("POST", "/v1/public/requests", {}, 422),
    ("POST", "/v1/public/requests/form", None, 422),
]


def concrete(path: str) -> str:
    return path.format(
        code="marketing-email",
        customer_id=SOME_ID,
        purpose_code="x",
        tile_path="0/000",
        request_id=SOME_ID,
        complaint_id=SOME_ID,
        incident_id=SOME_ID,
    )


def test_every_route_is_in_the_role_matrix(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = {(method.upper(), path) for path in paths for method in paths[path]}
    routes.add(("GET", "/openapi.json"))  # served outside the description itself

    assert routes == {(method, path) for method, path, _, _ in ENDPOINTS} | {
        (method, path) for method, path, _, _ in PUBLIC_ENDPOINTS
    }


@pytest.mark.parametrize(("method", "path", "body", "status"), PUBLIC_ENDPOINTS)
def test_public_endpoints_answer_without_a_token(
    client: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=body)

    assert response.status_code == status


@pytest.mark.parametrize(("method", "path", "permission", "body"), ENDPOINTS)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, method: str, path: str, permission: str, body: Any
) -> None:
    bogus = {"Authorization": "Bearer lcrm_" + "0" * 32 + "_" + "0" * 64}

    anonymous = client.request(method, concrete(path), json=body)
    forged = client.request(method, concrete(path), json=body, headers=bogus)

    assert anonymous.status_code == 401
    assert forged.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.requirement("ROLE-ACCESS")
@pytest.mark.parametrize(("method", "path", "permission", "body"), ENDPOINTS)
def test_each_role_is_admitted_exactly_where_the_matrix_allows(
    callers: dict[str, Caller], method: str, path: str, permission: str, body: Any
) -> None:
    for role in ROLES:
        response = callers[role].request(
            method, concrete(path), json=body, params={"purpose": "marketing-email"}
        )

        if role in PERMISSIONS[permission]:
            assert response.status_code not in (401, 403), (role, response.json())
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.json()["error"]["code"] == "forbidden"
