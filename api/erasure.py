"""Erasing a customer: a numbered routine, crash-safe at every step, ending in a
certificate that proves the erasure without holding any personal data."""

import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from api.wiring import Services
from crypto_shredding import Tombstone
from domain import Actor
from domain.errors import DomainError
from ledger import LedgerLookupError

CERTIFICATE_FORMAT = "ledgercrm-erasure-certificate/1"
LEDGER_WAIT_SECONDS = 3.0


class ErasureNotCompletedError(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "no completed erasure is recorded for this id; erase the customer first, "
            "or retry in a moment if the erasure has just been made"
        )


def erase_customer(
    services: Services, actor: Actor, customer_id: UUID, ground: str
) -> dict[str, Any]:
    """Erases a customer and returns the erasure certificate.

    1. Record the erasure request: who, when, on which ground; no personal data.
    2. Destroy the customer's data key, leaving a tombstone.
    3. Record that the data key was shredded, naming the key's id, never its bytes.
    4. Purge what was derived: the read models drop every sealed copy and every
       keyed lookup hash when they apply those events (awaited here); caches in
       other processes forget the key within a second (the key store's shred
       version, checked every half second).
    5. Issue the certificate, carrying the audit ledger's inclusion proof of the
       shredding event once a signed ledger checkpoint covers it.

    Steps 1 to 3 are the CRM's (each is skipped when already done), so running
    this again after a crash at any step finishes the job and never half-does it.
    """
    # Steps 1 to 3.
    written = services.crm.erase_customer(actor, customer_id, ground)

    # Step 4.
    timeout = services.settings.read_wait_seconds
    for runner in services.runners:
        runner.wait_for(written.position, timeout)

    # Step 5.
    return erasure_certificate(services, customer_id, wait=LEDGER_WAIT_SECONDS)


def erasure_certificate(
    services: Services, customer_id: UUID, *, wait: float = 0.0
) -> dict[str, Any]:
    """The certificate of a completed erasure, from the erasures read model, the
    key store's tombstone and the audit ledger; it holds ids, times and proofs."""
    erasure = services.erasures.erasure(services.read_models, customer_id)
    tombstone = services.data_keys.store.find(customer_id)
    if erasure is None or not erasure.completed or not isinstance(tombstone, Tombstone):
        raise ErasureNotCompletedError
    assert erasure.shredded_position is not None and erasure.shredded_at is not None
    return {
        "format": CERTIFICATE_FORMAT,
        "subject_id": str(customer_id),
        "data_key_id": str(tombstone.data_key_id),
        "ground": erasure.ground,
        "requested": {
            "by": erasure.requested_by,
            "at": erasure.requested_at.isoformat(),
            "position": erasure.requested_position,
            "originator_version": erasure.requested_version,
        },
        "shredded": {
            "by": erasure.shredded_by,
            "at": erasure.shredded_at.isoformat(),
            "position": erasure.shredded_position,
            "originator_version": erasure.shredded_version,
        },
        "data_key_destroyed_at": tombstone.shredded_at.isoformat(),
        "issued_at": datetime.now(UTC).isoformat(),
        "ledger": _ledger_proof(services, erasure.shredded_position, wait),
    }


def _ledger_proof(services: Services, position: int, wait: float) -> dict[str, Any]:
    """The inclusion proof of the shredding event, waiting up to `wait` seconds
    for the integrator to sign a ledger checkpoint that covers it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            proof = services.ledger.inclusion_proof(position)
            receipt = services.ledger.receipt(position, proof.tree_size)
        except LedgerLookupError:
            if time.monotonic() >= deadline:
                return {
                    "status": "pending",
                    "detail": "no signed ledger checkpoint covers the shredding event "
                    "yet; fetch the certificate again in a few seconds",
                }
            time.sleep(0.1)
            continue
        return {
            "status": "included",
            "leaf_index": proof.leaf_index,
            "tree_size": proof.tree_size,
            "entry": proof.entry.decode(),
            "receipt": receipt.decode(),
        }
