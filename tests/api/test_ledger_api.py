"""The audit ledger over HTTP: signed ledger checkpoints and proofs that verify
with nothing but the published verifier key."""

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor
from ledger import LedgerSigner, create_signing_key
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


def test_during_key_rotation_ledger_checkpoints_carry_both_signatures(
    settings: Settings, tmp_path: Path
) -> None:
    new_key = tmp_path / "new_signing.key"
    new_vkey = create_signing_key(new_key, settings.ledger_origin)
    old_vkey = LedgerSigner.from_key_files(settings.signing_key_file).vkeys[0]
    rotating = settings.model_copy(
        update={
            "ledger_signing_key_file": new_key,
            "ledger_overlap_signing_key_file": settings.signing_key_file,
        }
    )
    services = open_services(rotating)
    try:
        services.crm.define_purpose(
            Actor("a", "admin"),
            "care",
            "Chăm sóc",
            "Care",
            "agreement",
            [("c", "basic")],
            9,
        )
        with services.ledger_integrator() as integrator:
            integrator.run_once()
            integrator.sign_ledger_checkpoint()
        note = services.ledger.latest_ledger_checkpoint().note
    finally:
        services.close()

    assert note.count("\n— ".encode()) == 2
    assert verify_checkpoint(note, [new_vkey]).size == 1
    assert verify_checkpoint(note, [old_vkey]).size == 1
