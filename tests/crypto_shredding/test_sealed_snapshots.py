"""Snapshots go through the sealing mapper: no plaintext, and erasure reaches them."""

import json
from collections.abc import Iterator
from uuid import UUID

import pytest

from api.settings import Settings
from api.wiring import Services, event_store_env
from crypto_shredding import ERASED, CryptoShredder
from domain import (
    CRM,
    Actor,
    ConsentCapture,
    CustomerProfile,
    PersonalDetails,
    notice_sha256,
)

DPO = Actor("u-dpo", "dpo")
FULL_NAME = "Trần Thị Snapshot"
EMAIL = "snapshot.marker@example.vn"
INTERACTION_TEXT = "Khách hỏi về gói vay snapshot-marker"


@pytest.fixture
def crm(settings: Settings, services: Services) -> Iterator[CRM]:
    """A CRM with snapshotting on, sharing the event store and data keys."""
    env = {**event_store_env(settings), "IS_SNAPSHOTTING_ENABLED": "y"}
    crm = CRM(env, personal_data=CryptoShredder(services.data_keys))
    yield crm
    crm.close()


@pytest.fixture
def customer_id(crm: CRM) -> UUID:
    crm.define_purpose(
        DPO, "newsletter", "Bản tin", "Newsletter", "consent", [("email", "basic")], 90
    )
    version, _ = crm.publish_notice(DPO, "newsletter", "Thông báo", "Notice")
    consent = ConsentCapture(
        "newsletter", version, notice_sha256("Thông báo", "Notice"), "web-form", "f1"
    )
    details = PersonalDetails(FULL_NAME, "0912 345 678", EMAIL)
    return crm.register_customer(DPO, details, CustomerProfile(), [consent]).id


def stored_snapshot_state(crm: CRM, aggregate_id: UUID) -> bytes:
    assert crm.snapshots is not None
    *_, snapshot = crm.snapshots.recorder.select_events(aggregate_id)
    return snapshot.state


def holds_plaintext(blob: bytes, text: str) -> bool:
    escaped = json.dumps(text)[1:-1].encode()
    return text.encode() in blob or escaped in blob


@pytest.mark.requirement("ENCRYPT-AT-REST")
def test_stored_snapshot_holds_no_plaintext(crm: CRM, customer_id: UUID) -> None:
    crm.take_snapshot(customer_id)

    state = stored_snapshot_state(crm, customer_id)

    assert b'"_type_":"sealed"' in state
    for plaintext in (FULL_NAME, EMAIL, "0912 345 678"):
        assert not holds_plaintext(state, plaintext)


def test_snapshot_loads_with_personal_fields_opened(
    crm: CRM, customer_id: UUID
) -> None:
    crm.take_snapshot(customer_id)

    assert crm.snapshots is not None
    (snapshot,) = crm.snapshots.get(customer_id)
    customer = crm.customer(customer_id)

    assert snapshot.state["full_name"] == FULL_NAME
    assert snapshot.state["email"] == EMAIL
    assert customer.full_name == FULL_NAME
    assert customer.version == snapshot.originator_version


@pytest.mark.requirement("DSR-ERASE")
def test_snapshot_reads_as_erased_after_erasure(crm: CRM, customer_id: UUID) -> None:
    crm.take_snapshot(customer_id)

    crm.erase_customer(DPO, customer_id, "DSR-ERASE request 9")

    assert crm.snapshots is not None
    snapshot, *_ = crm.snapshots.get(customer_id)
    assert snapshot.state["full_name"] is ERASED
    assert snapshot.state["phone"] is ERASED
    assert crm.customer(customer_id).email is ERASED


@pytest.mark.requirement("DSR-ERASE")
def test_snapshot_taken_after_erasure_loads_as_erased(
    crm: CRM, customer_id: UUID
) -> None:
    crm.erase_customer(DPO, customer_id, "DSR-ERASE request 9")

    crm.take_snapshot(customer_id)

    customer = crm.customer(customer_id)
    assert customer.full_name is ERASED
    assert customer.erased
    assert not holds_plaintext(stored_snapshot_state(crm, customer_id), FULL_NAME)


@pytest.mark.requirement("DSR-ERASE")
def test_interaction_snapshot_is_sealed_under_its_customer(
    crm: CRM, customer_id: UUID
) -> None:
    interaction_id = crm.log_interaction(DPO, customer_id, "call", INTERACTION_TEXT).id
    crm.take_snapshot(interaction_id)
    assert not holds_plaintext(
        stored_snapshot_state(crm, interaction_id), INTERACTION_TEXT
    )

    crm.erase_customer(DPO, customer_id, "DSR-ERASE request 9")

    assert crm.interaction(interaction_id).text is ERASED
