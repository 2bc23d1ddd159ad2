"""An API client on the backend under test, with a token per role."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.wiring import Services
from domain import ROLES


class Caller:
    """A TestClient that sends one role's token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def callers(client: TestClient, services: Services) -> dict[str, Caller]:
    return {
        role: Caller(client, services.access.create(role, f"test-{role}")[1])
        for role in ROLES
    }


@pytest.fixture
def marketing(callers: dict[str, Caller]) -> dict[str, Any]:
    """A consent-based purpose with a published notice."""
    admin = callers["admin"]
    admin.post("/v1/purposes", json=purpose_body("marketing-email", "consent"))
    notice = admin.post(
        "/v1/purposes/marketing-email/notices",
        json={"text_vi": "Chúng tôi gửi ưu đãi.", "text_en": "We send offers."},
    ).json()
    return {"code": "marketing-email", "version": 1, "sha": notice["text_sha256"]}


def purpose_body(code: str, legal_basis: str) -> dict[str, Any]:
    return {
        "code": code,
        "title_vi": "Mục đích",
        "title_en": "Purpose",
        "legal_basis": legal_basis,
        "data_categories": [{"name": "contact", "sensitivity": "basic"}],
        "retention_days": 365,
    }


def consent_body(purpose: dict[str, Any]) -> dict[str, Any]:
    return {
        "purpose_code": purpose["code"],
        "notice_version": purpose["version"],
        "notice_sha256": purpose["sha"],
        "channel": "web-form",
        "evidence_ref": "form-0001",
    }


def registration(purpose: dict[str, Any], **personal: Any) -> dict[str, Any]:
    body = {"full_name": "Nguyễn Văn An", "phone": "0912 345 678"}
    body.update(personal)
    body["consents"] = [consent_body(purpose)]
    return body


@pytest.fixture
def marketing_capture(services: Services) -> Any:
    """A consent capture to a published notice, recorded straight to the CRM."""
    from domain import Actor, ConsentCapture, notice_sha256

    admin = Actor("u-admin", "admin")
    services.crm.define_purpose(
        admin, "offers", "Ưu đãi", "Offers", "consent", [("email", "basic")], 30
    )
    version, _ = services.crm.publish_notice(admin, "offers", "Ưu đãi.", "Offers.")
    sha256 = notice_sha256("Ưu đãi.", "Offers.")
    return ConsentCapture("offers", version, sha256, "web-form", "form-1")
