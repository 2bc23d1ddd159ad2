"""Inclusion and consistency proofs, receipts and tiles served to auditors."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eventsourcing.application import Application

from ledger import (
    InclusionProofError,
    LedgerDivergence,
    LedgerLookupError,
    LedgerReader,
    NoteVerificationError,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from ledger.merkle import leaf_hash, tree_root
from ledger.notes import LedgerCheckpoint, NoteSigningKey, encode_base64
from ledger.tiles import TileHashReader, decode_entry_bundle, tiles_for_size
from tests.ledger.ledger_test_support import LedgerSetup, record_tickets


@dataclass
class Signed:
    """A ledger of 300 events with ledger checkpoints at sizes 40 and 300."""

    app: Application
    reader: LedgerReader
    ids: list[int]
    older: LedgerCheckpoint
    latest: LedgerCheckpoint
    vkeys: list[str]


@pytest.fixture
def signed(setup: LedgerSetup) -> Iterator[Signed]:
    app = setup.application()
    ids = record_tickets(app, 10, notes=3)
    integrator = setup.integrator(app)
    integrator.run_once()
    older = integrator.last_ledger_checkpoint
    ids += record_tickets(app, 1, notes=259)
    integrator.run_once()
    integrator.sign_ledger_checkpoint()
    latest = integrator.last_ledger_checkpoint
    assert older is not None and latest is not None
    assert (older.size, latest.size) == (40, 300)
    yield Signed(
        app, LedgerReader(setup.store()), ids, older, latest, setup.signer.vkeys
    )


def test_inclusion_proof_by_notification_id_verifies_against_the_checkpoint(
    signed: Signed,
) -> None:
    for notification_id in (signed.ids[0], signed.ids[123], signed.ids[-1]):
        proof = signed.reader.inclusion_proof(notification_id)

        assert proof.ledger_checkpoint == signed.latest
        verify_inclusion(
            proof.leaf_index,
            proof.tree_size,
            leaf_hash(proof.entry),
            proof.hashes,
            signed.latest.root_hash,
        )


def test_inclusion_proof_at_an_older_checkpoint_verifies_against_it(
    signed: Signed,
) -> None:
    proof = signed.reader.inclusion_proof(signed.ids[7], tree_size=40)

    assert proof.tree_size == 40 and proof.ledger_checkpoint == signed.older
    verify_inclusion(
        7, 40, leaf_hash(proof.entry), proof.hashes, signed.older.root_hash
    )
    with pytest.raises(LedgerLookupError, match="not in the ledger at size 40"):
        signed.reader.inclusion_proof(signed.ids[200], tree_size=40)


def test_consistency_proof_between_two_checkpoints_verifies(signed: Signed) -> None:
    proof = signed.reader.consistency_proof(40, 300)

    verify_consistency(40, 300, proof, signed.older.root_hash, signed.latest.root_hash)


def test_receipt_is_a_tlog_proof_that_verifies_offline(signed: Signed) -> None:
    notification_id = signed.ids[123]
    proof = signed.reader.inclusion_proof(notification_id)
    state = signed.app.recorder.select_notifications(start=notification_id, limit=1)[0]

    receipt = signed.reader.receipt(notification_id)

    head, checkpoint = receipt.split(b"\n\n", 1)
    assert head.decode().split("\n") == [
        "c2sp.org/tlog-proof@v1",
        f"extra {encode_base64(proof.entry)}",
        "index 123",
        *(encode_base64(h) for h in proof.hashes),
    ]
    assert checkpoint == signed.latest.note
    report = verify_receipt(receipt, signed.vkeys, event_state=state.state)
    assert report.index == 123 and report.entry["notification_id"] == notification_id


@pytest.mark.parametrize("backend", ["sqlite"])
def test_tampered_receipts_fail_to_verify(signed: Signed) -> None:
    receipt = signed.reader.receipt(signed.ids[5])
    lines = receipt.split(b"\n")
    other_vkey = str(NoteSigningKey.generate(signed.latest.origin).verifier_key)

    lines[3] = encode_base64(hashlib.sha256(lines[3]).digest()).encode()
    with pytest.raises(InclusionProofError):
        verify_receipt(b"\n".join(lines), signed.vkeys)
    with pytest.raises(NoteVerificationError):
        verify_receipt(receipt, [other_vkey])
    with pytest.raises(LedgerDivergence, match="stored event differs"):
        verify_receipt(receipt, signed.vkeys, event_state=b"another event")
    with pytest.raises(InclusionProofError):
        verify_receipt(receipt.replace(b"index 5", b"index 6"), signed.vkeys)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_tiles_served_by_path_rebuild_the_signed_root(signed: Signed) -> None:
    tiles = {
        (address.level, address.index): signed.reader.tile(address.path)
        for address in tiles_for_size(300)
    }

    hashes = TileHashReader(lambda level, index: tiles.get((level, index)), 300)
    assert tree_root(hashes, 300) == signed.latest.root_hash
    bundle = decode_entry_bundle(signed.reader.tile("tile/entries/001.p/44"))
    assert bundle == signed.reader.entries(256, 300)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_what_lies_beyond_the_signed_ledger_is_a_lookup_error(signed: Signed) -> None:
    with pytest.raises(LedgerLookupError, match="not in the ledger"):
        signed.reader.inclusion_proof(10**9)
    with pytest.raises(LedgerLookupError, match="outside the signed ledger"):
        signed.reader.consistency_proof(40, 301)
    with pytest.raises(LedgerLookupError, match="beyond"):
        signed.reader.tile("tile/0/001.p/45")
    with pytest.raises(LedgerLookupError, match="no ledger checkpoint"):
        signed.reader.ledger_checkpoint(41)
    assert len(signed.reader.entries(290, 10_000)) == 10


@pytest.mark.parametrize("backend", ["sqlite"])
def test_empty_ledger_has_no_checkpoint_to_serve(setup: LedgerSetup) -> None:
    with pytest.raises(LedgerLookupError, match="start the integrator"):
        LedgerReader(setup.store()).latest_ledger_checkpoint()
