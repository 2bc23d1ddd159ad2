"""Offline verifier of ledger exports, ledger checkpoints and receipts.

Needs only the standard library, `cryptography` and the ledger's own pure
modules (errors, merkle, tiles, notes, entries, receipts, audit): no database
driver, framework or network. Run it as

    python -m ledger.verify EXPORT_DIR --vkey VKEY [--known-checkpoint FILE]
    python -m ledger.verify --receipt FILE --vkey VKEY [--event-state FILE]
"""

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger.audit import EntryOrder, audit_tree
from ledger.entries import decode_event_bundle, event_bundle_path
from ledger.errors import (
    ConsistencyProofError,
    InclusionProofError,
    LedgerDivergence,
    NoteVerificationError,
    ReceiptError,
    SigningKeyError,
    VerificationError,
)
from ledger.merkle import (
    consistency_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.notes import (
    LedgerCheckpoint,
    NoteVerifierKey,
    encode_base64,
    open_ledger_checkpoint,
)
from ledger.receipts import parse_receipt
from ledger.tiles import (
    TILE_WIDTH,
    TileHashReader,
    decode_entry_bundle,
    entry_bundle_path,
    tile_path,
    tile_width_at,
)


def load_verifier_keys(vkeys: Sequence[str]) -> list[NoteVerifierKey]:
    """Parse vkey strings (`name+keyid+key`) into verifier keys."""
    if not vkeys:
        raise SigningKeyError("give the ledger's verifier key (vkey) to verify against")
    return [NoteVerifierKey.parse(vkey) for vkey in vkeys]


def verify_checkpoint(note: bytes, vkeys: Sequence[str]) -> LedgerCheckpoint:
    """A ledger checkpoint whose signature by a vkey named as its origin holds."""
    return open_ledger_checkpoint(note, load_verifier_keys(vkeys))


def verify_checkpoint_consistency(
    older: LedgerCheckpoint, newer: LedgerCheckpoint, proof: Sequence[bytes]
) -> None:
    """Check that `newer` extends `older` (same origin, RFC 9162 proof)."""
    if older.origin != newer.origin:
        raise LedgerDivergence(
            "origin",
            "the checkpoints come from different ledgers",
            expected=older.origin,
            found=newer.origin,
        )
    if older.size == 0:
        return
    verify_consistency(older.size, newer.size, proof, older.root_hash, newer.root_hash)


class ExportDirectory:
    """An export in the tlog-tiles layout, read from disk."""

    def __init__(self, directory: Path, size: int = 0) -> None:
        self.directory = directory
        self.size = size

    def read(self, path: str) -> bytes | None:
        try:
            return (self.directory / path).read_bytes()
        except FileNotFoundError:
            return None

    def entry_bundle(self, index: int, width: int) -> list[bytes]:
        path = entry_bundle_path(index, width)
        bundle = self.read(path)
        if bundle is None:
            raise LedgerDivergence(
                "entry-bundle",
                f"{path} is missing",
                index=index * TILE_WIDTH,
                path=path,
            )
        try:
            return decode_entry_bundle(bundle)
        except ValueError as error:
            raise LedgerDivergence(
                "entry-bundle",
                f"{path} is malformed: {error}",
                index=index * TILE_WIDTH,
                path=path,
            ) from None

    def tile(self, level: int, index: int, width: int) -> bytes | None:
        return self.read(tile_path(level, index, width))

    def read_tile(self, level: int, index: int) -> bytes | None:
        """A tile at the width it has in this export's tree."""
        width = tile_width_at(level, index, self.size)
        return self.read(tile_path(level, index, width)) if width else None


class _EventDigests:
    """Checks each entry against the stored event exported beside it."""

    def __init__(self, export: ExportDirectory) -> None:
        self.export = export
        self.states: dict[int, bytes] = {}
        self.path = ""
        self.checked = 0

    def load(self, bundle: int) -> None:
        self.finish()
        width = tile_width_at(0, bundle, self.export.size)
        self.path = event_bundle_path(bundle, width)
        records = self.export.read(self.path)
        try:
            self.states = decode_event_bundle(records or b"")
        except ValueError as error:
            raise LedgerDivergence(
                "event-bundle", f"{self.path} is malformed: {error}", path=self.path
            ) from None

    def check(self, index: int, fields: dict[str, Any]) -> None:
        notification_id = fields["notification_id"]
        state = self.states.pop(notification_id, None)
        if state is None:
            raise LedgerDivergence(
                "event-missing",
                f"the stored event of entry {index} (notification {notification_id}) "
                "is missing: it was deleted",
                index=index,
                path=self.path,
            )
        digest = hashlib.sha256(state).hexdigest()
        if digest != fields["state_sha256"]:
            raise LedgerDivergence(
                "event-digest",
                f"the stored event of entry {index} (notification {notification_id}) "
                "differs from the event the ledger recorded: it was altered",
                index=index,
                path=self.path,
                expected=fields["state_sha256"],
                found=digest,
            )
        self.checked += 1

    def finish(self) -> None:
        if self.states:
            notification_id = min(self.states)
            raise LedgerDivergence(
                "event-extra",
                f"stored event notification {notification_id} has no ledger entry: "
                "it was inserted or never integrated",
                path=self.path,
                found=str(notification_id),
            )


class _ExportEntries:
    """The checks of each exported entry: format, order and its stored event."""

    def __init__(self, export: ExportDirectory) -> None:
        self.order = EntryOrder()
        self.events = None
        if (export.directory / "events").is_dir():
            self.events = _EventDigests(export)

    def __call__(self, index: int, entry: bytes) -> None:
        fields = self.order(index, entry)
        if self.events is not None:
            if index % TILE_WIDTH == 0:
                self.events.load(index // TILE_WIDTH)
            self.events.check(index, fields)

    def finish(self) -> int:
        """Raise for stored events left over; return how many were checked."""
        if self.events is None:
            return 0
        self.events.finish()
        return self.events.checked


@dataclass
class ExportReport:
    """What a successful export audit checked."""

    origin: str
    tree_size: int
    root_hash: str
    entries_checked: int
    tiles_checked: int
    event_records_checked: int
    known_checkpoints: list[int] = field(default_factory=list)


def verify_export(
    directory: Path | str,
    vkeys: Sequence[str],
    known_checkpoints: Sequence[bytes] = (),
) -> ExportReport:
    """Audit an export offline; raise a VerificationError at the first divergence.

    1. Verify the export's checkpoint and every known checkpoint against vkeys.
    2. Refuse an export older than a known checkpoint (a rollback).
    3. Rebuild every leaf and tile from the entries and compare them (audit_tree);
       check entry order and, where the export has them, each stored event.
    4. Check each known checkpoint's root and a consistency proof to it.
    """
    keys = load_verifier_keys(vkeys)
    export = ExportDirectory(Path(directory))
    signed = _export_checkpoint(export, keys)
    export.size = signed.size
    known = [open_ledger_checkpoint(note, keys) for note in known_checkpoints]
    _check_not_rolled_back(signed, known)

    entries = _ExportEntries(export)
    roots_at = [checkpoint.size for checkpoint in known]
    audit = audit_tree(
        export, signed.size, signed, check_entry=entries, roots_at=roots_at
    )
    event_records_checked = entries.finish()
    _check_known(export, audit.roots, signed, known)
    return ExportReport(
        origin=signed.origin,
        tree_size=signed.size,
        root_hash=encode_base64(signed.root_hash),
        entries_checked=signed.size,
        tiles_checked=audit.tiles_checked,
        event_records_checked=event_records_checked,
        known_checkpoints=[checkpoint.size for checkpoint in known],
    )


def _export_checkpoint(
    export: ExportDirectory, keys: Sequence[NoteVerifierKey]
) -> LedgerCheckpoint:
    note = export.read("checkpoint")
    if note is None:
        raise LedgerDivergence(
            "checkpoint", f"{export.directory}/checkpoint is missing", path="checkpoint"
        )
    return open_ledger_checkpoint(note, keys)


def _check_not_rolled_back(
    signed: LedgerCheckpoint, known: Sequence[LedgerCheckpoint]
) -> None:
    for checkpoint in known:
        if checkpoint.size > signed.size:
            raise LedgerDivergence(
                "rollback",
                f"the export ends at tree size {signed.size}, but you hold a ledger "
                f"checkpoint at size {checkpoint.size}: the ledger was rolled back "
                "(or the export is stale; ask for a new one)",
                expected=f">= {checkpoint.size}",
                found=str(signed.size),
            )


def _check_known(
    export: ExportDirectory,
    roots: dict[int, bytes],
    signed: LedgerCheckpoint,
    known: Sequence[LedgerCheckpoint],
) -> None:
    hashes = TileHashReader(export.read_tile, signed.size)
    for checkpoint in known:
        if roots[checkpoint.size] != checkpoint.root_hash:
            raise LedgerDivergence(
                "consistency",
                f"the ledger checkpoint you hold at size {checkpoint.size} is not a "
                "prefix of this export: the ledger was rewritten (forked)",
                expected=checkpoint.root_hash.hex(),
                found=roots[checkpoint.size].hex(),
            )
        proof = consistency_proof(hashes, checkpoint.size, signed.size)
        verify_checkpoint_consistency(checkpoint, signed, proof)


@dataclass
class ReceiptReport:
    """What a verified receipt proves."""

    origin: str
    tree_size: int
    root_hash: str
    index: int
    entry: dict[str, Any]
    event_state_checked: bool


def verify_receipt(
    receipt: bytes,
    vkeys: Sequence[str],
    *,
    entry: bytes | None = None,
    event_state: bytes | None = None,
) -> ReceiptReport:
    """Verify a receipt: its checkpoint, the entry's inclusion, the event digest.

    1. Parse the tlog-proof and verify its checkpoint against the vkeys.
    2. Take the entry from the receipt's extra line (or `entry`; both must agree).
    3. Verify the inclusion proof from the entry's leaf hash to the root.
    4. Where the stored event is given, compare its SHA-256 with the entry's.
    """
    parsed = parse_receipt(receipt)
    signed = verify_checkpoint(parsed.ledger_checkpoint_note, vkeys)
    entry = _receipt_entry(parsed.extra, entry)
    verify_inclusion(
        parsed.index, signed.size, leaf_hash(entry), parsed.proof, signed.root_hash
    )

    fields = EntryOrder()(parsed.index, entry)
    if event_state is not None:
        _check_event_state(parsed.index, fields, event_state)
    return ReceiptReport(
        signed.origin,
        signed.size,
        encode_base64(signed.root_hash),
        parsed.index,
        fields,
        event_state is not None,
    )


def _check_event_state(index: int, fields: dict[str, Any], state: bytes) -> None:
    digest = hashlib.sha256(state).hexdigest()
    if digest != fields["state_sha256"]:
        raise LedgerDivergence(
            "event-digest",
            "the stored event differs from the one the ledger entry records",
            index=index,
            expected=fields["state_sha256"],
            found=digest,
        )


def _receipt_entry(extra: bytes | None, entry: bytes | None) -> bytes:
    if extra is not None and entry is not None and extra != entry:
        raise ReceiptError("the entry given differs from the one in the receipt")
    found = extra if extra is not None else entry
    if found is None:
        raise ReceiptError("the receipt carries no entry; give the entry file too")
    return found


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description="Verify a LedgerCRM ledger export or receipt offline.",
    )
    parser.add_argument("export_dir", nargs="?", type=Path, help="export directory")
    parser.add_argument("--vkey", action="append", default=[], help="verifier key")
    parser.add_argument("--vkey-file", type=Path, help="file holding the vkey")
    parser.add_argument(
        "--known-checkpoint",
        action="append",
        default=[],
        type=Path,
        help="a ledger checkpoint kept earlier; the export must extend it",
    )
    parser.add_argument("--receipt", type=Path, help="a receipt (.tlog-proof)")
    parser.add_argument("--entry", type=Path, help="the entry, if not in the receipt")
    parser.add_argument("--event-state", type=Path, help="the stored event bytes")
    arguments = parser.parse_args(argv)
    if arguments.export_dir is None and arguments.receipt is None:
        parser.error("give an export directory or --receipt FILE")
    return arguments


def _run(arguments: argparse.Namespace) -> dict[str, Any]:
    vkeys = list(arguments.vkey)
    if arguments.vkey_file is not None:
        vkeys.append(arguments.vkey_file.read_text().strip())
    if arguments.receipt is not None:
        receipt = verify_receipt(
            arguments.receipt.read_bytes(),
            vkeys,
            entry=_read_optional(arguments.entry),
            event_state=_read_optional(arguments.event_state),
        )
        return asdict(receipt)
    known = [path.read_bytes() for path in arguments.known_checkpoint]
    return asdict(verify_export(arguments.export_dir, vkeys, known))


def _read_optional(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    """Print a JSON report; exit 0 when verified, 1 on divergence, 2 on misuse."""
    arguments = _arguments(argv)
    mode = "export" if arguments.receipt is None else "receipt"
    try:
        report = {"ok": True, "mode": mode, **_run(arguments)}
    except VerificationError as error:
        report, status = {"ok": False, "mode": mode, "failure": _failure(error)}, 1
    except (SigningKeyError, OSError) as error:
        report, status = {"ok": False, "mode": mode, "error": str(error)}, 2
    else:
        status = 0
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return status


_CHECK_OF = {
    InclusionProofError: "inclusion-proof",
    ConsistencyProofError: "consistency-proof",
    NoteVerificationError: "checkpoint",
    ReceiptError: "receipt",
}


def _failure(error: VerificationError) -> dict[str, object]:
    if isinstance(error, LedgerDivergence):
        return error.as_dict()
    check = next(
        (name for kind, name in _CHECK_OF.items() if isinstance(error, kind)),
        "verification",
    )
    return {"check": check, "message": str(error)}


if __name__ == "__main__":
    sys.exit(main())
