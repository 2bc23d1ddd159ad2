"""Erasure over HTTP ends in a certificate: ids, times, positions and a ledger
proof of the shredding, and no personal data."""

import json
from typing import Any
from uuid import UUID

import pytest

from api.wiring import Services
from crypto_shredding import Tombstone
from ledger.verify import verify_receipt
from tests.api.conftest import Caller, registration

MARKER = "Qz-certificate-marker"


def register(callers: dict[str, Caller], marketing: dict[str, Any]) -> str:
    body = registration(marketing, full_name=f"Lý {MARKER}")
    return str(callers["sales"].post("/v1/customers", json=body).json()["id"])


def erase(dpo: Caller, customer_id: str) -> Any:
    return dpo.post(
        f"/v1/customers/{customer_id}/erasure", json={"ground": "DSR-ERASE 2026-31"}
    )


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_certificate_names_the_shredded_key_and_the_positions(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    customer_id = register(callers, marketing)

    certificate = erase(callers["dpo"], customer_id).json()

    tombstone = services.data_keys.store.find(UUID(customer_id))
    assert isinstance(tombstone, Tombstone)
    assert certificate["subject_id"] == customer_id
    assert certificate["data_key_id"] == str(tombstone.data_key_id)
    assert certificate["ground"] == "DSR-ERASE 2026-31"
    assert certificate["requested"]["by"].startswith("dpo:")
    assert certificate["requested"]["position"] < certificate["shredded"]["position"]
    assert MARKER not in json.dumps(certificate)


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_certificate_carries_a_ledger_receipt_of_the_shredding(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    customer_id = register(callers, marketing)

    certificate = erase(callers["dpo"], customer_id).json()

    ledger = certificate["ledger"]
    assert ledger["status"] == "included", ledger
    entry = json.loads(ledger["entry"])
    assert entry["notification_id"] == certificate["shredded"]["position"]
    assert entry["topic"].endswith("Customer.DataKeyShredded")
    assert UUID(entry["originator_id"]) == UUID(customer_id)
    verify_receipt(
        ledger["receipt"].encode(),
        services.signer.vkeys,
        entry=ledger["entry"].encode(),
    )


@pytest.mark.requirement("DSR-ERASE")
def test_erasure_resumed_after_a_crash_midway_finishes_and_certifies(
    callers: dict[str, Caller], marketing: dict[str, Any], services: Services
) -> None:
    customer_id = UUID(register(callers, marketing))
    customer = services.crm.customer(customer_id)
    customer.request_erasure("DSR-ERASE 2026-31", "dpo:someone")  # step 1 done
    services.crm.save(customer)
    tombstone = services.data_keys.shred(customer_id, "DSR-ERASE 2026-31")  # step 2
    # ... and the process died before step 3.

    resumed = erase(callers["dpo"], str(customer_id))

    assert resumed.status_code == 200
    assert resumed.json()["data_key_id"] == str(tombstone.data_key_id)
    assert services.crm.customer(customer_id).erased


def test_the_certificate_can_be_fetched_again_later(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    customer_id = register(callers, marketing)
    first = erase(callers["dpo"], customer_id).json()

    again = callers["dpo"].get(f"/v1/customers/{customer_id}/erasure-certificate")

    assert again.status_code == 200
    assert again.json()["shredded"] == first["shredded"]
    assert again.json()["data_key_id"] == first["data_key_id"]


def test_no_certificate_exists_for_a_customer_not_erased(
    callers: dict[str, Caller], marketing: dict[str, Any]
) -> None:
    customer_id = register(callers, marketing)

    response = callers["dpo"].get(f"/v1/customers/{customer_id}/erasure-certificate")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "erasure_not_found"


def test_erasing_an_unknown_customer_is_not_found_and_shreds_nothing(
    callers: dict[str, Caller], services: Services
) -> None:
    unknown = "6f1d3c2e-8a4b-4e7f-9c0d-1a2b3c4d5e6f"

    response = erase(callers["dpo"], unknown)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"
    assert services.data_keys.store.find(UUID(unknown)) is None
