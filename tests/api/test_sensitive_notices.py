"""SENSITIVE-DATA over the API: a purpose covering sensitive data tells the person
so in its notice, the consent record and the access package show what they were
told, and the public privacy page lists the sensitive processing."""

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Caller, purpose_body, registration

NOTICE = {
    "text_vi": "Chúng tôi gửi ưu đãi gần nơi bạn ở.",
    "text_en": "We send offers near where you are.",
}
STATEMENT = {
    "sensitive_statement_vi": "Chúng tôi xử lý vị trí của bạn (dữ liệu nhạy cảm) "
    "chỉ để chọn ưu đãi.",
    "sensitive_statement_en": "We process your location (sensitive data) only to "
    "choose offers.",
}
LEDGER_WAIT_SECONDS = 15.0


def define_location_offers(admin: Caller, legal_basis: str = "consent") -> None:
    body = purpose_body("location-offers", legal_basis)
    body["title_vi"], body["title_en"] = "Ưu đãi theo vị trí", "Offers by location"
    body["data_categories"] = [
        {"name": "contact", "sensitivity": "basic"},
        {"name": "location", "sensitivity": "sensitive"},
    ]
    answer = admin.post("/v1/purposes", json=body)
    assert answer.status_code == 201, answer.json()


@pytest.fixture
def location_offers(callers: dict[str, Caller]) -> dict[str, Any]:
    """A consent-based purpose with a sensitive category and a declaring notice."""
    define_location_offers(callers["admin"])
    published = callers["admin"].post(
        "/v1/purposes/location-offers/notices", json={**NOTICE, **STATEMENT}
    )
    assert published.status_code == 201, published.json()
    return {
        "code": "location-offers",
        "version": 1,
        "sha": published.json()["text_sha256"],
        "position": published.json()["position"],
    }


@pytest.mark.requirement("SENSITIVE-DATA")
def test_a_notice_of_a_sensitive_purpose_without_its_statement_is_refused(
    callers: dict[str, Caller],
) -> None:
    admin = callers["admin"]
    define_location_offers(admin)

    refused = admin.post("/v1/purposes/location-offers/notices", json=NOTICE)

    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "sensitive_notice_required"
    assert "add sensitive_statement_vi and sensitive_statement_en" in error["message"]
    assert admin.get("/v1/purposes/location-offers").json()["notices"] == []


@pytest.mark.requirement("SENSITIVE-DATA")
def test_an_agreement_for_a_sensitive_purpose_waits_for_a_declaring_notice(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    define_location_offers(callers["admin"], "agreement")
    customer = callers["sales"].post("/v1/customers", json=registration(marketing))
    path = f"/v1/customers/{customer.json()['id']}/agreements"
    agreement = {"purpose_code": "location-offers", "agreement_ref": "HĐ-7"}

    refused = callers["sales"].post(path, json=agreement)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "sensitive_processing_not_declared"
    assert "publish a notice with sensitive_statement_vi" in error["message"]
    read = callers["sales"].get(
        f"/v1/customers/{customer.json()['id']}",
        params={
            "purpose": "marketing-email",
            "after_position": customer.json()["position"],
        },
    )
    assert read.json()["agreements"] == {}


@pytest.mark.requirement("SENSITIVE-DATA")
def test_purposes_show_the_notice_statement_and_whether_they_disclose(
    callers: dict[str, Caller], location_offers: dict[str, Any]
) -> None:
    purpose = (
        callers["sales"]
        .get(
            "/v1/purposes/location-offers",
            params={"after_position": location_offers["position"]},
        )
        .json()
    )

    assert purpose["sensitive"] is True
    assert purpose["discloses"] is True
    [notice] = purpose["notices"]
    assert notice["declares_sensitive"] is True
    assert notice["sensitive_statement_en"] == STATEMENT["sensitive_statement_en"]
    assert notice["text_sha256"] == location_offers["sha"]


def consent_record(dpo: Caller, customer_id: str) -> dict[str, Any]:
    """The record, fetched again until a signed ledger checkpoint covers it."""
    deadline = time.monotonic() + LEDGER_WAIT_SECONDS
    while True:
        response = dpo.get(
            f"/v1/dpo/customers/{customer_id}/consents/location-offers/record"
        )
        if "pending" not in response.text or time.monotonic() > deadline:
            return dict(response.json())
        time.sleep(0.2)


@pytest.mark.requirement("SENSITIVE-DATA")
@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_record_and_access_package_show_the_sensitive_statement(
    callers: dict[str, Caller], location_offers: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    created = callers["sales"].post("/v1/customers", json=registration(location_offers))
    assert created.status_code == 201, created.json()
    customer_id = created.json()["id"]
    request_id = dpo.post(
        "/v1/dpo/requests",
        json={
            "kind": "access",
            "requester_name": "Nguyễn Văn An",
            "requester_contact": "0912 345 678",
            "customer_id": customer_id,
        },
    ).json()["id"]
    dpo.post(
        f"/v1/dpo/requests/{request_id}/identity-verification",
        json={"customer_id": customer_id, "method": "signed-request"},
    )

    record = consent_record(dpo, customer_id)["consent"]
    package = dpo.get(f"/v1/dpo/requests/{request_id}/access-package").json()
    page = dpo.get(
        f"/v1/dpo/requests/{request_id}/access-package", params={"format": "html"}
    )

    for consent in (record, package["consents"][0]):
        assert consent["sensitive_data_categories"] == ["location"]
        assert consent["sensitive_statement_vi"] == STATEMENT["sensitive_statement_vi"]
        assert consent["sensitive_statement_en"] == STATEMENT["sensitive_statement_en"]
        assert consent["notice_text_en"] == NOTICE["text_en"]
        assert consent["notice_text_matches_hash"] is True
    assert "We process your location (sensitive data)" in page.text


@pytest.mark.requirement("SENSITIVE-DATA")
@pytest.mark.requirement("POLICY-PUBLISHED")
@pytest.mark.parametrize(
    ("lang", "heading", "title", "statement"),
    [
        (
            "vi",
            "Dữ liệu cá nhân nhạy cảm",
            "Ưu đãi theo vị trí",
            "sensitive_statement_vi",
        ),
        (
            "en",
            "Sensitive personal data",
            "Offers by location",
            "sensitive_statement_en",
        ),
    ],
)
def test_privacy_page_lists_the_sensitive_processing_with_its_purposes(
    client: TestClient,
    location_offers: dict[str, Any],
    marketing: dict[str, Any],
    lang: str,
    heading: str,
    title: str,
    statement: str,
) -> None:
    page = client.get("/v1/public/privacy", params={"lang": lang}).text

    sensitive = page.split(f"<h2>{heading}</h2>")[1].split("<h2>")[0]
    assert title in sensitive
    assert "location" in sensitive
    assert STATEMENT[statement] in sensitive
    assert sensitive.count("<tr>") == 2  # the heading, and marketing-email is not


def test_privacy_page_says_so_when_nothing_sensitive_is_processed(
    client: TestClient, marketing: dict[str, Any]
) -> None:
    page = client.get("/v1/public/privacy", params={"lang": "en"}).text

    assert "We process no sensitive personal data." in page
