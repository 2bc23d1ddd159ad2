"""A consent's record for print: who, when, how, the notice text and its hash,
and the ledger's proof of the consent event (CONSENT-PROOF)."""

import json
import time
from datetime import date
from typing import Any

import pytest

from api.wiring import Services
from ledger.verify import verify_receipt
from tests.api.conftest import Caller, registration

LEDGER_WAIT_SECONDS = 15.0


def consent_record(dpo: Caller, customer_id: str, **params: str) -> Any:
    """The record, fetched again until a signed ledger checkpoint covers it."""
    deadline = time.monotonic() + LEDGER_WAIT_SECONDS
    while True:
        response = dpo.get(
            f"/v1/dpo/customers/{customer_id}/consents/marketing-email/record",
            params=params,
        )
        pending = "pending" in response.text
        if not pending or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_record_shows_who_when_how_and_the_exact_notice(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    created = callers["sales"].post("/v1/customers", json=registration(marketing))
    customer_id = created.json()["id"]

    record = consent_record(callers["dpo"], customer_id).json()

    consent = record["consent"]
    assert record["subject_name"] == "Nguyễn Văn An"
    assert consent["channel"] == "web-form"
    assert consent["evidence_ref"] == "form-0001"
    assert consent["captured_by"].startswith("sales:")
    assert consent["notice_version"] == 1
    assert consent["notice_sha256"] == marketing["sha"]
    assert consent["notice_text_vi"] == "Chúng tôi gửi ưu đãi."
    assert consent["notice_text_matches_hash"] is True


@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_record_is_proved_against_the_ledger(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    created = callers["sales"].post("/v1/customers", json=registration(marketing))
    customer_id = created.json()["id"]

    record = consent_record(callers["dpo"], customer_id).json()

    [event] = record["events"]
    assert event["type"] == "Customer.ConsentGiven"
    ledger = event["ledger"]
    assert ledger["status"] == "included", ledger
    assert json.loads(ledger["entry"])["notification_id"] == event["position"]
    verify_receipt(
        ledger["receipt"].encode(),
        services.signer.vkeys,
        entry=ledger["entry"].encode(),
    )


@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_record_prints_as_html_with_the_withdrawal(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    created = callers["sales"].post("/v1/customers", json=registration(marketing))
    customer_id = created.json()["id"]
    callers["sales"].post(
        f"/v1/customers/{customer_id}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    page = consent_record(callers["dpo"], customer_id, format="html")

    assert page.headers["content-type"].startswith("text/html")
    assert "We send offers." in page.text
    assert "Customer.ConsentWithdrawn" in page.text


def test_record_of_a_consent_never_given_is_refused(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    body = registration(marketing)
    created = callers["sales"].post("/v1/customers", json=body).json()

    response = callers["dpo"].get(
        f"/v1/dpo/customers/{created['id']}/consents/other-purpose/record"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_not_given"


@pytest.mark.requirement("CONSENT-PROOF")
@pytest.mark.requirement("CHILDREN")
def test_a_childs_consent_record_names_the_representatives_consent(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    born = date(date.today().year - 10, 1, 1).isoformat()
    body = registration(marketing, date_of_birth=born)
    body["consents"][0]["representative"] = {
        "full_name": "Trần Thị Mẹ",
        "relationship": "parent",
        "evidence_ref": "paper-form-88",
    }
    body["consents"][0]["child_consented"] = True
    customer_id = callers["sales"].post("/v1/customers", json=body).json()["id"]

    record = consent_record(callers["dpo"], customer_id).json()

    assert record["consent"]["representative"] == {
        "relationship": "parent",
        "evidence_ref": "paper-form-88",
        "child_consented": True,
    }
    types = [e["type"] for e in record["events"]]
    assert types == ["Customer.ConsentGiven", "Customer.RepresentativeConsented"]
