"""The data protection officer's request workflow over the API."""

from typing import Any

import pytest

from tests.api.conftest import Caller, registration


def register(callers: dict[str, Caller], marketing: dict[str, Any]) -> str:
    response = callers["sales"].post(
        "/v1/customers", json=registration(marketing, email="an@example.vn")
    )
    assert response.status_code == 201, response.json()
    # Reads below do not pass after_position: wait here until the read side has it.
    caught_up = callers["sales"].get(
        "/v1/customers", params={"after_position": response.json()["position"]}
    )
    assert caught_up.status_code == 200, caught_up.json()
    return str(response.json()["id"])


def open_request(dpo: Caller, kind: str, customer_id: str, **extra: Any) -> str:
    body = {
        "kind": kind,
        "requester_name": "Nguyễn Văn An",
        "requester_contact": "an@example.vn",
        **extra,
    }
    response = dpo.post("/v1/dpo/requests", json=body)
    assert response.status_code == 201, response.json()
    request_id = str(response.json()["id"])
    verified = dpo.post(
        f"/v1/dpo/requests/{request_id}/identity-verification",
        json={"customer_id": customer_id, "method": "signed-request"},
    )
    assert verified.status_code == 200, verified.json()
    return request_id


@pytest.mark.requirement("DSR-RESTRICT")
def test_restriction_stops_purpose_bound_reads_at_once(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    customer_id = register(callers, marketing)
    request_id = open_request(dpo, "restrict", customer_id)

    fulfilled = dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})
    read = sales.get(
        f"/v1/customers/{customer_id}", params={"purpose": "marketing-email"}
    )

    assert fulfilled.status_code == 200, fulfilled.json()
    assert read.status_code == 403
    assert read.json()["error"]["code"] == "processing_restricted"
    lifted = dpo.post(
        f"/v1/dpo/customers/{customer_id}/restriction-lift",
        json={"reason": "accuracy confirmed"},
    )
    assert lifted.status_code == 200
    again = sales.get(
        f"/v1/customers/{customer_id}", params={"purpose": "marketing-email"}
    )
    assert again.status_code == 200


@pytest.mark.requirement("DSR-OBJECT")
def test_objection_stops_reads_for_the_purpose_and_its_interactions(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    customer_id = register(callers, marketing)
    request_id = open_request(
        dpo, "object", customer_id, purpose_codes=["marketing-email"]
    )

    dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})

    params = {"purpose": "marketing-email"}
    read = sales.get(f"/v1/customers/{customer_id}", params=params)
    notes = sales.get(f"/v1/customers/{customer_id}/interactions", params=params)
    assert read.status_code == notes.status_code == 403


@pytest.mark.requirement("DSR-RECTIFY")
def test_rectification_supersedes_the_value_in_reads(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    customer_id = register(callers, marketing)
    request_id = open_request(dpo, "rectify", customer_id)

    fulfilled = dpo.post(
        f"/v1/dpo/requests/{request_id}/fulfilment",
        json={"corrections": {"full_name": "Nguyễn Văn Anh"}},
    )

    read = sales.get(
        f"/v1/customers/{customer_id}",
        params={
            "purpose": "marketing-email",
            "after_position": fulfilled.json()["position"],
        },
    )
    assert read.json()["personal"]["full_name"] == "Nguyễn Văn Anh"
    assert fulfilled.json()["outcome"] == {"rectified_fields": ["full_name"]}


@pytest.mark.requirement("DSR-ERASE")
def test_erase_request_shreds_and_keeps_the_certificate_ids(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    customer_id = register(callers, marketing)
    request_id = open_request(dpo, "erase", customer_id)

    fulfilled = dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})

    outcome = fulfilled.json()["outcome"]["erasure_certificate"]
    certificate = dpo.get(f"/v1/customers/{customer_id}/erasure-certificate").json()
    assert outcome["data_key_id"] == certificate["data_key_id"]
    detail = dpo.get(f"/v1/dpo/requests/{request_id}").json()
    assert detail["status"] == "fulfilled"


@pytest.mark.requirement("DSR-ERASE")
def test_erase_request_can_be_refused_with_its_legal_ground(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    customer_id = register(callers, marketing)
    request_id = open_request(dpo, "erase", customer_id)

    refused = dpo.post(
        f"/v1/dpo/requests/{request_id}/refusal",
        json={"legal_ground": "Law on Accounting Art 41", "told_via": "email"},
    )

    assert refused.status_code == 200
    detail = dpo.get(f"/v1/dpo/requests/{request_id}").json()
    assert detail["refusal"] == {
        "legal_ground": "Law on Accounting Art 41",
        "told_via": "email",
    }
    read = sales.get(
        f"/v1/customers/{customer_id}", params={"purpose": "marketing-email"}
    )
    assert read.status_code == 200


@pytest.mark.requirement("DSR-ACCESS")
def test_access_package_holds_values_consents_reads_and_ledger_proofs(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo, sales = callers["dpo"], callers["sales"]
    customer_id = register(callers, marketing)
    noted = sales.post(
        f"/v1/customers/{customer_id}/interactions",
        json={"kind": "call", "text": "Gọi hỏi về ưu đãi"},
    ).json()
    sales.get(
        f"/v1/customers/{customer_id}",
        params={"purpose": "marketing-email", "after_position": noted["position"]},
    )
    dpo.post(
        "/v1/exports/customers",
        json={
            "purpose": "marketing-email",
            "recipient": "Mailing partner Co.",
            "agreement_ref": "DPA-2026-3",
            "basis": "consent",
            "fields": ["full_name"],
            "after_position": noted["position"],
        },
    )
    request_id = open_request(dpo, "access", customer_id)

    package = dpo.get(f"/v1/dpo/requests/{request_id}/access-package").json()

    assert package["personal_data"]["full_name"] == "Nguyễn Văn An"
    assert package["personal_data"]["email"] == "an@example.vn"
    assert package["consents"][0]["notice_text_en"] == "We send offers."
    assert package["consents"][0]["notice_text_matches_hash"] is True
    assert package["interactions"][0]["text"] == "Gọi hỏi về ưu đãi"
    assert {r["purpose_code"] for r in package["reads"]} >= {"marketing-email"}
    [disclosure] = package["disclosures"]
    assert disclosure["recipient"] == "Mailing partner Co."
    assert disclosure["fields"] == ["full_name"]
    assert package["events"]
    assert all(
        e["ledger"]["status"] in ("included", "pending") for e in package["events"]
    )


@pytest.mark.requirement("DSR-ACCESS")
def test_access_package_reads_as_an_html_document_with_values_escaped(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    response = callers["sales"].post(
        "/v1/customers", json=registration(marketing, full_name="An <b>Nguyễn</b>")
    )
    customer_id = str(response.json()["id"])
    request_id = open_request(dpo, "access", customer_id)

    page = dpo.get(
        f"/v1/dpo/requests/{request_id}/access-package", params={"format": "html"}
    )

    assert page.headers["content-type"].startswith("text/html")
    assert "An &lt;b&gt;Nguyễn&lt;/b&gt;" in page.text
    assert "<b>Nguyễn" not in page.text


@pytest.mark.requirement("DSR-ACCESS")
def test_access_fulfilment_records_the_package_digest_and_closes(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    request_id = open_request(dpo, "access", register(callers, marketing))

    fulfilled = dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})

    assert len(fulfilled.json()["outcome"]["package_sha256"]) == 64
    assert dpo.get("/v1/dpo/requests").json() == []
    closed = dpo.get("/v1/dpo/requests", params={"status": "all"}).json()
    assert closed[0]["status"] == "fulfilled"


def test_requests_are_listed_with_their_deadlines(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    open_request(dpo, "access", register(callers, marketing))

    listed = dpo.get("/v1/dpo/requests").json()
    soon = dpo.get("/v1/dpo/requests/due-soon", params={"within_days": 30}).json()
    overdue = dpo.get("/v1/dpo/requests/overdue").json()

    assert listed[0]["kind"] == "access"
    assert listed[0]["calendar"].startswith("vn")
    assert [r["id"] for r in soon] == [listed[0]["id"]]
    assert overdue == []


def test_fulfilling_an_unverified_request_is_refused_and_changes_nothing(
    callers: dict[str, Caller],
) -> None:
    dpo = callers["dpo"]
    created = dpo.post(
        "/v1/dpo/requests",
        json={"kind": "restrict", "requester_name": "A", "requester_contact": "a@b.vn"},
    ).json()

    response = dpo.post(f"/v1/dpo/requests/{created['id']}/fulfilment", json={})

    assert response.status_code == 409
    assert "verif" in response.json()["error"]["message"]
    assert dpo.get(f"/v1/dpo/requests/{created['id']}").json()["status"] == "received"


@pytest.mark.requirement("DSR-OBJECT")
@pytest.mark.requirement("DSR-RESTRICT")
def test_suppression_list_names_objections_and_restrictions_in_force(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    objecting = register(callers, marketing)
    restricted = register(callers, marketing)
    lifted = register(callers, marketing)
    register(callers, marketing)  # a customer who asked for nothing
    request_id = open_request(
        dpo, "object", objecting, purpose_codes=["marketing-email"]
    )
    dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})
    for customer_id in (restricted, lifted):
        request_id = open_request(dpo, "restrict", customer_id)
        dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})
    dpo.post(
        f"/v1/dpo/customers/{lifted}/restriction-lift", json={"reason": "resolved"}
    )

    listed = (
        callers["sales"]
        .get("/v1/dpo/suppression-list", params={"purpose": "marketing-email"})
        .json()
    )
    other = (
        callers["sales"]
        .get("/v1/dpo/suppression-list", params={"purpose": "other"})
        .json()
    )

    assert {(e["customer_id"], e["restricted"]) for e in listed} == {
        (objecting, False),
        (restricted, True),
    }
    assert [e["customer_id"] for e in other] == [restricted]


def test_a_request_naming_an_unknown_customer_is_refused(
    callers: dict[str, Caller],
) -> None:
    response = callers["dpo"].post(
        "/v1/dpo/requests",
        json={
            "kind": "access",
            "requester_name": "A",
            "requester_contact": "a@x.vn",
            "customer_id": "6f1d3c2e-8a4b-4e7f-9c0d-1a2b3c4d5e6f",
        },
    )

    assert response.status_code == 404
    assert callers["dpo"].get("/v1/dpo/requests").json() == []


@pytest.mark.requirement("DSR-ACCESS")
def test_access_package_of_an_erased_customer_shows_values_erased(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    customer_id = register(callers, marketing)
    request_id = open_request(dpo, "access", customer_id)
    dpo.post(f"/v1/customers/{customer_id}/erasure", json={"ground": "DSR 2026-9"})

    package = dpo.get(f"/v1/dpo/requests/{request_id}/access-package").json()

    assert package["personal_data"]["full_name"] == "ERASED"
    assert package["profile"]["erased"] is True
    assert "Nguyễn" not in str(package)


@pytest.mark.requirement("DSR-OBJECT")
@pytest.mark.requirement("DSR-RESTRICT")
def test_objection_and_restriction_keep_customers_off_contact_lists_and_exports(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    dpo = callers["dpo"]
    kept, objecting, restricted = (register(callers, marketing) for _ in range(3))
    request_id = open_request(
        dpo, "object", objecting, purpose_codes=["marketing-email"]
    )
    dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={})
    request_id = open_request(dpo, "restrict", restricted)
    last = dpo.post(f"/v1/dpo/requests/{request_id}/fulfilment", json={}).json()

    contactable = (
        callers["sales"]
        .get(
            "/v1/purposes/marketing-email/contactable-customers",
            params={"after_position": last["position"]},
        )
        .json()
    )
    export = dpo.post(
        "/v1/exports/customers",
        json={
            "purpose": "marketing-email",
            "recipient": "Mailing partner Co.",
            "agreement_ref": "DPA-2026-3",
            "basis": "consent",
            "fields": ["full_name"],
            "after_position": last["position"],
        },
    )

    assert contactable["customer_ids"] == [kept]
    assert export.status_code == 200, export.text
    assert kept in export.text
    assert objecting not in export.text and restricted not in export.text
    assert export.headers["Excluded-By-Objection-Or-Restriction"] == "2"
