"""The audit ledger over HTTP: signed ledger checkpoints and proofs that verify
with nothing but the published verifier key."""

import base64
import time
from typing import Any

import pytest

from api.wiring import Services
from ledger.verify import (
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_receipt,
)
from tests.api.conftest import Caller, registration


def signed_proof(auditor: Caller, notification_id: int) -> dict[str, Any]:
    """The inclusion proof, once the integrator has signed a tree holding the event."""
    for _ in range(200):
        response = auditor.get(
            "/v1/ledger/proofs/inclusion", params={"notification_id": notification_id}
        )
        if response.status_code == 200:
            return dict(response.json())
        assert response.json()["error"]["code"] == "not_in_ledger"
        time.sleep(0.05)
    raise AssertionError(f"notification {notification_id} never reached the ledger")


def vkeys(auditor: Caller) -> list[str]:
    return auditor.get("/v1/ledger/vkey").text.split()


@pytest.mark.requirement("PROCESSING-LOG")
def test_every_recorded_event_gets_a_receipt_that_verifies_offline(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    written = callers["sales"].post("/v1/customers", json=registration(marketing))

    proof = signed_proof(callers["auditor"], written.json()["position"])

    report = verify_receipt(
        proof["receipt"].encode(),
        vkeys(callers["auditor"]),
        entry=proof["entry"].encode(),
    )
    assert report is not None
    assert '"actor":"sales:' in proof["entry"]


def test_latest_ledger_checkpoint_is_signed_by_the_published_key(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    signed_proof(callers["auditor"], 1)

    note = callers["auditor"].get("/v1/ledger/checkpoint").text.encode()

    checkpoint = verify_checkpoint(note, vkeys(callers["auditor"]))
    assert checkpoint.origin == services.settings.ledger_origin
    assert checkpoint.size >= 1


def test_a_later_ledger_checkpoint_proves_it_extends_an_earlier_one(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    auditor = callers["auditor"]
    first = signed_proof(auditor, 2)["ledger_checkpoint"].encode()
    written = callers["sales"].post("/v1/customers", json=registration(marketing))
    second = signed_proof(auditor, written.json()["position"])["ledger_checkpoint"]
    older = verify_checkpoint(first, vkeys(auditor))
    newer = verify_checkpoint(second.encode(), vkeys(auditor))

    proof = auditor.get(
        "/v1/ledger/proofs/consistency",
        params={"first": older.size, "second": newer.size},
    ).json()

    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_checkpoint_consistency(older, newer, hashes)


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_ledger_entries_and_tiles_hold_digests_not_personal_data(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    body = registration(marketing, full_name="Đặng Thị Marker-Ledger")
    written = callers["sales"].post("/v1/customers", json=body).json()
    proof = signed_proof(callers["auditor"], written["position"])

    entries = (
        callers["auditor"]
        .get("/v1/ledger/entries", params={"start": 0, "stop": proof["tree_size"]})
        .json()["entries"]
    )
    bundle = callers["auditor"].get(
        f"/v1/ledger/tile/entries/000.p/{proof['tree_size']}"
    )

    assert len(entries) == proof["tree_size"]
    assert all('"state_sha256":"' in entry for entry in entries)
    assert bundle.status_code == 200
    assert "Marker-Ledger" not in "".join(entries)
    assert b"Marker-Ledger" not in bundle.content


def test_what_lies_beyond_the_signed_ledger_is_not_found(
    callers: dict[str, Caller],
) -> None:
    response = callers["auditor"].get(
        "/v1/ledger/proofs/inclusion", params={"notification_id": 10_000}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_in_ledger"
