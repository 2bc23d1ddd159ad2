"""Effective consent per customer and purpose, its history, and who may be
contacted for a purpose right now."""

from typing import Any

import pytest

from tests.api.conftest import Caller, purpose_body, registration

pytestmark = pytest.mark.usefixtures("backend")


def register(callers: dict[str, Caller], marketing: dict[str, Any]) -> Any:
    response = callers["sales"].post("/v1/customers", json=registration(marketing))
    assert response.status_code == 201, response.json()
    return response.json()


def consents(caller: Caller, written: dict[str, Any]) -> Any:
    return caller.get(
        f"/v1/customers/{written['id']}/consents",
        params={"after_position": written["position"]},
    )


def contactable(caller: Caller, position: int, **params: Any) -> Any:
    return caller.get(
        "/v1/purposes/marketing-email/contactable-customers",
        params={"after_position": position, **params},
    )


@pytest.mark.requirement("CONSENT-PROOF")
def test_consent_history_names_notice_time_channel_actor_and_evidence(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers, marketing)
    withdrawn = callers["sales"].post(
        f"/v1/customers/{written['id']}/consents/marketing-email/withdrawal",
        json={"channel": "email"},
    )

    response = consents(callers["auditor"], withdrawn.json())

    assert response.status_code == 200
    [purpose] = response.json()["purposes"]
    assert purpose["purpose_code"] == "marketing-email"
    assert purpose["state"] == "withdrawn" and purpose["live"] is False
    given, withdrawal = purpose["history"]
    assert given["change"] == "given"
    assert given["notice_version"] == 1
    assert given["notice_sha256"] == marketing["sha"]
    assert given["channel"] == "web-form"
    assert given["evidence_ref"] == "form-0001"
    assert given["actor"].startswith("sales:")
    assert withdrawal["change"] == "withdrawn" and withdrawal["channel"] == "email"
    assert withdrawal["position"] == withdrawn.json()["position"]


def test_agreements_appear_as_an_effective_basis(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    callers["admin"].post("/v1/purposes", json=purpose_body("care", "agreement"))
    written = register(callers, marketing)
    recorded = callers["sales"].post(
        f"/v1/customers/{written['id']}/agreements",
        json={"purpose_code": "care", "agreement_ref": "HD-2026-1"},
    )

    body = consents(callers["manager"], recorded.json()).json()

    states = {p["purpose_code"]: p["state"] for p in body["purposes"]}
    assert states == {"care": "agreed", "marketing-email": "given"}
    care = next(p for p in body["purposes"] if p["purpose_code"] == "care")
    assert care["history"][0]["agreement_ref"] == "HD-2026-1"


@pytest.mark.requirement("CONSENT-WITHDRAW")
def test_contactable_customers_are_those_with_a_live_consent_right_now(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    kept, withdrawn, erased = (register(callers, marketing) for _ in range(3))
    callers["sales"].post(
        f"/v1/customers/{withdrawn['id']}/consents/marketing-email/withdrawal",
        json={"channel": "phone"},
    )
    last = callers["dpo"].post(
        f"/v1/customers/{erased['id']}/erasure", json={"ground": "DSR-ERASE 1"}
    )

    response = contactable(callers["sales"], last.json()["shredded"]["position"])

    assert response.status_code == 200
    assert response.json()["customer_ids"] == [kept["id"]]


def test_contactable_customers_page_with_a_cursor(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = [register(callers, marketing) for _ in range(3)]
    position = written[-1]["position"]

    first = contactable(callers["sales"], position, limit=2).json()
    second = contactable(
        callers["sales"], position, limit=2, cursor=first["next_cursor"]
    ).json()

    seen = first["customer_ids"] + second["customer_ids"]
    assert sorted(seen) == sorted(w["id"] for w in written)
    assert second["next_cursor"] is None


def test_nobody_may_be_contacted_for_a_retired_purpose(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    register(callers, marketing)
    retired = callers["admin"].post("/v1/purposes/marketing-email/retire")

    response = contactable(callers["dpo"], retired.json()["position"])

    assert response.json()["customer_ids"] == []


def test_erased_customer_consents_are_kept_for_auditors_only(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = register(callers, marketing)
    erased = callers["dpo"].post(
        f"/v1/customers/{written['id']}/erasure", json={"ground": "DSR-ERASE 2"}
    )
    after = {"id": written["id"], "position": erased.json()["shredded"]["position"]}

    audited = consents(callers["auditor"], after)
    for_sales = consents(callers["sales"], after)

    assert audited.json()["purposes"][0]["state"] == "erased"
    assert audited.json()["purposes"][0]["history"][0]["change"] == "given"
    assert for_sales.status_code == 404


def test_unknown_customer_or_purpose_answers_404(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    unknown_customer = callers["auditor"].get(
        "/v1/customers/7d0e4f5a-0000-4000-8000-000000000000/consents"
    )
    unknown_purpose = callers["sales"].get("/v1/purposes/no-such/contactable-customers")

    assert unknown_customer.json()["error"]["code"] == "customer_not_found"
    assert unknown_purpose.json()["error"]["code"] == "purpose_not_found"
