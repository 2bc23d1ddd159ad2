"""Signed notes, signing key files and ledger checkpoints."""

import base64
import os
import stat
from pathlib import Path

import pytest

from ledger import LedgerSigner, create_signing_key, load_signing_key
from ledger.errors import NoteVerificationError, SigningKeyError
from ledger.merkle import EMPTY_ROOT
from ledger.notes import (
    NoteSigningKey,
    NoteVerifierKey,
    compute_key_id,
    open_ledger_checkpoint,
    open_note,
    sign_note,
)

# The example of golang.org/x/mod/sumdb/note, the reference signed-note code.
GO_SIGNING_KEY = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuG"
    "UgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = GO_TEXT + f"\n\u2014 PeterNeumann {GO_SIGNATURE}\n".encode()
ORIGIN = "ledger.example.vn/crm"


def test_signing_reproduces_the_reference_note_byte_for_byte() -> None:
    signing_key = NoteSigningKey.parse(GO_SIGNING_KEY)

    assert sign_note(GO_TEXT, [signing_key]) == GO_NOTE
    assert str(signing_key.verifier_key) == GO_VKEY
    assert signing_key.encode() == GO_SIGNING_KEY


def test_reference_note_opens_with_its_vkey() -> None:
    assert open_note(GO_NOTE, [NoteVerifierKey.parse(GO_VKEY)]) == GO_TEXT


def test_key_id_is_the_first_four_bytes_of_the_named_key_hash() -> None:
    raw = base64.b64decode(GO_VKEY.split("+", 2)[2])[1:]

    assert compute_key_id("PeterNeumann", raw) == bytes.fromhex("c74f20a3")
    assert NoteVerifierKey.parse(GO_VKEY).key_id == bytes.fromhex("c74f20a3")


def test_changed_note_text_fails_verification() -> None:
    tampered = GO_NOTE.replace(b"cryptography", b"cryptographY")

    with pytest.raises(NoteVerificationError, match="does not verify"):
        open_note(tampered, [NoteVerifierKey.parse(GO_VKEY)])


def test_signatures_by_unknown_keys_are_ignored() -> None:
    stranger = NoteSigningKey.generate("witness.example/w1")
    note = GO_NOTE + stranger.signature_line(GO_TEXT).encode()

    assert open_note(note, [NoteVerifierKey.parse(GO_VKEY)]) == GO_TEXT
    with pytest.raises(NoteVerificationError, match="not signed by a known key"):
        open_note(note, [NoteSigningKey.generate("PeterNeumann").verifier_key])


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (GO_NOTE[:-1], "end with a newline"),
        (GO_TEXT, "no blank line"),
        (GO_NOTE.replace(b"AM=\n", b"AN=\n"), "not base64"),
        (GO_NOTE.replace(b"\xe2\x80\x94 ", b"-- "), "malformed signature line"),
        (GO_NOTE.replace(b"problem,", b"problem,\x07"), "control characters"),
        (GO_NOTE.replace(b"If", b"\xff"), "UTF-8"),
    ],
)
def test_malformed_notes_are_refused_with_the_reason(note: bytes, reason: str) -> None:
    with pytest.raises(NoteVerificationError, match=reason):
        open_note(note, [NoteVerifierKey.parse(GO_VKEY)])


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),
        GO_VKEY.replace("+ARpc", "+AhRpc"),
        "PeterNeumann",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(SigningKeyError):
        NoteVerifierKey.parse(vkey)


def test_signing_key_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"

    vkey = create_signing_key(path, ORIGIN)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vkey.startswith(ORIGIN + "+")
    assert str(load_signing_key(path).verifier_key) == vkey


def test_existing_signing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    create_signing_key(path, ORIGIN)
    before = path.read_bytes()

    with pytest.raises(SigningKeyError, match="already exists"):
        create_signing_key(path, ORIGIN)
    assert path.read_bytes() == before


def test_missing_signing_key_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="ledgercrm init"):
        load_signing_key(tmp_path / "absent.key")


def test_signing_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    create_signing_key(path, ORIGIN)
    os.chmod(path, 0o644)

    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_signing_key(path)


def test_garbage_signing_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    path.write_text("not a key\n")
    os.chmod(path, 0o600)

    with pytest.raises(SigningKeyError, match="PRIVATE\\+KEY"):
        load_signing_key(path)


def test_origin_with_spaces_or_plus_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="schema-less URL"):
        create_signing_key(tmp_path / "a.key", "ledger example")
    with pytest.raises(SigningKeyError):
        create_signing_key(tmp_path / "b.key", "ledger+crm")


def test_ledger_checkpoint_is_a_tlog_checkpoint_note(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    vkey = create_signing_key(path, ORIGIN)

    checkpoint = LedgerSigner.from_key_files(path).sign(0, EMPTY_ROOT)

    text, signature = checkpoint.note.decode().split("\n\n")
    assert text == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert signature.startswith(f"\u2014 {ORIGIN} ") and signature.endswith("\n")
    opened = open_ledger_checkpoint(checkpoint.note, [NoteVerifierKey.parse(vkey)])
    assert (opened.origin, opened.size, opened.root_hash) == (ORIGIN, 0, EMPTY_ROOT)


def test_rotation_signs_with_both_keys_and_either_vkey_verifies(tmp_path: Path) -> None:
    old_vkey = create_signing_key(tmp_path / "old.key", ORIGIN)
    new_vkey = create_signing_key(tmp_path / "new.key", ORIGIN)
    signer = LedgerSigner.from_key_files(tmp_path / "new.key", tmp_path / "old.key")

    checkpoint = signer.sign(0, EMPTY_ROOT)

    assert checkpoint.note.count("\u2014 ".encode()) == 2
    assert signer.vkeys == [new_vkey, old_vkey]
    for vkey in (old_vkey, new_vkey):
        open_ledger_checkpoint(checkpoint.note, [NoteVerifierKey.parse(vkey)])


def test_signer_keys_must_share_the_origin(tmp_path: Path) -> None:
    create_signing_key(tmp_path / "a.key", ORIGIN)
    create_signing_key(tmp_path / "b.key", "other.example/log")

    with pytest.raises(SigningKeyError, match="same origin"):
        LedgerSigner.from_key_files(tmp_path / "a.key", tmp_path / "b.key")


def test_checkpoint_signed_under_another_name_is_refused(tmp_path: Path) -> None:
    vkey = create_signing_key(tmp_path / "a.key", "other.example/log")
    note = LedgerSigner.from_key_files(tmp_path / "a.key").sign(0, EMPTY_ROOT).note
    forged = note.replace(b"other.example/log\n0", b"ledger.example/x\n0", 1)

    with pytest.raises(NoteVerificationError, match="named after the checkpoint"):
        open_ledger_checkpoint(forged, [NoteVerifierKey.parse(vkey)])
