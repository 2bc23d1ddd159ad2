"""The public privacy page and the public, rate-limited request form."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.rate_limit import SlidingWindowLimit
from tests.api.conftest import Caller

FORM = {
    "kind": "access",
    "requester_name": "Trần Thị Bích",
    "requester_contact": "bich@example.vn",
}


@pytest.mark.requirement("POLICY-PUBLISHED")
@pytest.mark.parametrize(
    ("lang", "phrase"),
    [("vi", "Quyền của bạn"), ("en", "Your rights")],
)
def test_privacy_page_is_public_in_vietnamese_and_english(
    client: TestClient, marketing: dict[str, Any], lang: str, phrase: str
) -> None:
    page = client.get("/v1/public/privacy", params={"lang": lang})

    assert page.status_code == 200
    assert phrase in page.text
    assert "dpo@example.vn" in page.text
    assert "Purpose" in page.text or "Mục đích" in page.text
    assert f'lang="{lang}"' in page.text


@pytest.mark.requirement("DSR-ACCESS")
def test_public_form_takes_a_request_without_a_token(
    client: TestClient, callers: dict[str, Caller]
) -> None:
    response = client.post("/v1/public/requests", json=FORM)

    assert response.status_code == 202
    receipt = response.json()
    listed = callers["dpo"].get("/v1/dpo/requests").json()
    assert [r["id"] for r in listed] == [receipt["request_id"]]
    assert listed[0]["channel"] == "public-form"
    assert receipt["acknowledge_due"] == listed[0]["acknowledge_due"]


def test_public_form_is_rate_limited_per_client(client: TestClient) -> None:
    answers = [client.post("/v1/public/requests", json=FORM) for _ in range(6)]

    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_bad_form_input_is_refused_with_a_clear_message(client: TestClient) -> None:
    response = client.post("/v1/public/requests", json={**FORM, "kind": "forget"})

    assert response.status_code == 422
    assert "kind" in response.json()["error"]["message"]


def test_overall_limit_caps_all_clients_together() -> None:
    limit = SlidingWindowLimit(per_client=5, overall=3, window=3600.0)

    admitted = [limit.admit(f"client-{n}") for n in range(4)]

    assert admitted[:3] == [0.0, 0.0, 0.0]
    assert admitted[3] > 0


@pytest.mark.requirement("POLICY-PUBLISHED")
def test_privacy_page_form_sends_a_request_without_a_token(
    client: TestClient, callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    page = client.get("/v1/public/privacy", params={"lang": "en"}).text
    assert 'action="/v1/public/requests/form?lang=en"' in page
    assert '<option value="marketing-email">' in page

    answer = client.post(
        "/v1/public/requests/form?lang=en",
        content="kind=object&requester_name=Tr%E1%BA%A7n+B%C3%ADch"
        "&requester_contact=bich%40example.vn&purpose_codes=marketing-email",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 202
    assert "We have received your request" in answer.text
    [listed] = callers["dpo"].get("/v1/dpo/requests").json()
    assert listed["kind"] == "object"
    assert listed["purpose_codes"] == ["marketing-email"]
    assert listed["id"] in answer.text


def test_form_with_a_missing_field_says_what_to_fix_and_stores_nothing(
    client: TestClient, callers: dict[str, Caller]
) -> None:
    answer = client.post(
        "/v1/public/requests/form?lang=vi",
        content="kind=access&requester_name=secret-name-value",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 422
    assert "requester_contact" in answer.text
    assert "secret-name-value" not in answer.text
    assert callers["dpo"].get("/v1/dpo/requests").json() == []
