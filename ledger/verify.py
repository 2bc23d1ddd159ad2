"""Offline verifier of ledger exports, ledger checkpoints and receipts.

Needs only the standard library, `cryptography` and the ledger's own pure
modules (errors, merkle, tiles, notes, entries, receipts, audit): no database
driver, framework or network. Run it as `ledgercrm-verify` or
`python -m ledger.verify`, in one of four modes:

    ledgercrm-verify EXPORT_DIR --vkey VKEY [--known-checkpoint FILE ...] [--jobs N]
    ledgercrm-verify --checkpoint FILE --vkey VKEY
    ledgercrm-verify --consistency OLD NEW --vkey VKEY (--proof FILE | --tiles DIR)
    ledgercrm-verify --receipt FILE --vkey VKEY [--entry FILE] [--event-state FILE]
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
    LedgerLookupError,
    NoteVerificationError,
    ReceiptError,
    SigningKeyError,
    VerificationError,
)
from ledger.export_bundles import (
    PreparedBundle,
    ShreddedSubject,
    prepared_bundles,
    records_shredding,
    shredded_subject,
)
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.notes import (
    LedgerCheckpoint,
    NoteVerifierKey,
    decode_base64,
    encode_base64,
    open_ledger_checkpoint,
    read_ledger_checkpoint,
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
    signed = open_ledger_checkpoint(note, load_verifier_keys(vkeys))
    _check_empty_root(signed)
    return signed


def _check_empty_root(signed: LedgerCheckpoint) -> None:
    if signed.size == 0 and signed.root_hash != EMPTY_ROOT:
        raise LedgerDivergence(
            "root-hash",
            "a ledger checkpoint of tree size 0 must carry the empty-tree root",
            expected=EMPTY_ROOT.hex(),
            found=signed.root_hash.hex(),
        )


def verify_checkpoint_consistency(
    older: LedgerCheckpoint, newer: LedgerCheckpoint, proof: Sequence[bytes]
) -> None:
    """Check that `newer` extends `older` (same origin, RFC 9162 proof).

    Every tree extends the empty tree, so from size 0 the proof must be empty.
    """
    if older.origin != newer.origin:
        raise LedgerDivergence(
            "origin",
            "the checkpoints come from different ledgers",
            expected=older.origin,
            found=newer.origin,
        )
    if older.size == 0:
        _check_from_empty(older, newer, proof)
        return
    verify_consistency(older.size, newer.size, proof, older.root_hash, newer.root_hash)


def _check_from_empty(
    older: LedgerCheckpoint, newer: LedgerCheckpoint, proof: Sequence[bytes]
) -> None:
    if proof:
        raise ConsistencyProofError(
            f"a consistency proof from the empty tree must be empty, not "
            f"{len(proof)} hashes long"
        )
    for signed in (older, newer):
        if signed.size == 0 and signed.root_hash != EMPTY_ROOT:
            raise ConsistencyProofError(
                "a tree head of size 0 must carry the empty-tree root"
            )


@dataclass(frozen=True)
class ConsistencyProofFile:
    """A consistency proof as the API serves it: two tree sizes and the hashes."""

    first: int
    second: int
    hashes: list[bytes]

    @classmethod
    def parse(cls, document: bytes) -> "ConsistencyProofFile":
        """Read `{"first": N, "second": M, "hashes": [base64, ...]}` strictly."""
        try:
            fields = json.loads(document)
        except ValueError:
            raise ConsistencyProofError("the proof file is not JSON") from None
        if not isinstance(fields, dict) or not isinstance(fields.get("hashes"), list):
            raise ConsistencyProofError(
                'the proof file must be {"first": N, "second": M, "hashes": [...]}'
            )
        hashes = [_proof_hash(value) for value in fields["hashes"]]
        return cls(_tree_size(fields, "first"), _tree_size(fields, "second"), hashes)


def _tree_size(fields: dict[str, Any], name: str) -> int:
    size = fields.get(name)
    if type(size) is not int or size < 0:
        raise ConsistencyProofError(f"the proof's {name!r} is not a tree size")
    return size


def _proof_hash(value: object) -> bytes:
    if not isinstance(value, str):
        raise ConsistencyProofError("the proof's hashes must be base64 strings")
    try:
        return decode_base64(value)
    except ValueError as error:
        raise ConsistencyProofError(f"the proof's hash {error}") from None


@dataclass
class ConsistencyReport:
    """Two verified ledger checkpoints, the second extending the first."""

    origin: str
    first_size: int
    first_root_hash: str
    second_size: int
    second_root_hash: str
    proof_hashes: int
    proof_from: str


def verify_ledger_checkpoints(
    first: bytes,
    second: bytes,
    vkeys: Sequence[str],
    proof: ConsistencyProofFile | Path | str,
) -> ConsistencyReport:
    """Verify two ledger checkpoints and that the second extends the first.

    1. Verify both signatures with the vkeys.
    2. Take the proof from a proof file (its sizes must be the checkpoints')
       or compute it from the tiles of an export directory.
    3. Check origins and the RFC 9162 consistency proof between the roots.
    """
    keys = load_verifier_keys(vkeys)
    older, newer = (_open_checkpoint(note, keys) for note in (first, second))
    if older.size > newer.size:
        raise ConsistencyProofError(
            f"the first ledger checkpoint (tree size {older.size}) is larger than "
            f"the second ({newer.size}): give the older one first"
        )

    if isinstance(proof, ConsistencyProofFile):
        _check_proof_sizes(proof, older, newer)
        hashes, source = proof.hashes, "proof file"
    else:
        hashes = _proof_from_tiles(Path(proof), older, newer)
        source = f"tiles of {proof}"
    verify_checkpoint_consistency(older, newer, hashes)
    return ConsistencyReport(
        older.origin,
        older.size,
        encode_base64(older.root_hash),
        newer.size,
        encode_base64(newer.root_hash),
        len(hashes),
        source,
    )


def _open_checkpoint(note: bytes, keys: Sequence[NoteVerifierKey]) -> LedgerCheckpoint:
    signed = open_ledger_checkpoint(note, keys)
    _check_empty_root(signed)
    return signed


def _check_proof_sizes(
    proof: ConsistencyProofFile, older: LedgerCheckpoint, newer: LedgerCheckpoint
) -> None:
    if (proof.first, proof.second) != (older.size, newer.size):
        raise ConsistencyProofError(
            f"the proof joins tree sizes {proof.first} and {proof.second}, but the "
            f"checkpoints are at sizes {older.size} and {newer.size}; ask for "
            f"the proof from {older.size} to {newer.size}"
        )


def _proof_from_tiles(
    directory: Path, older: LedgerCheckpoint, newer: LedgerCheckpoint
) -> list[bytes]:
    """The proof computed from an export's tiles; the roots still decide."""
    note = ExportDirectory(directory).read("checkpoint")
    if note is None:
        raise LedgerLookupError(f"{directory} holds no export (no checkpoint file)")
    export = ExportDirectory(directory, read_ledger_checkpoint(note).size)
    if newer.size > export.size:
        raise LedgerLookupError(
            f"the export in {directory} ends at tree size {export.size}, before the "
            f"newer ledger checkpoint ({newer.size}); give a newer export or --proof"
        )
    return consistency_proof(
        TileHashReader(export.read_tile, newer.size), older.size, newer.size
    )


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

    def check(self, index: int, fields: dict[str, Any]) -> bytes:
        """The stored event of entry `index`, once its digest matched."""
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
        return state

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


SHREDDED_NOTE = (
    "the data keys of these subjects were destroyed (crypto-shredding): their "
    "personal fields are unrecoverable by design; their events are stored "
    "unchanged as ciphertext and still verify"
)


class _ExportEntries:
    """The checks of each exported entry: format, order and its stored event."""

    def __init__(self, export: ExportDirectory) -> None:
        self.order = EntryOrder()
        self.events = None
        if (export.directory / "events").is_dir():
            self.events = _EventDigests(export)
        self.shredded: list[ShreddedSubject] = []

    def __call__(self, index: int, entry: bytes) -> None:
        fields = self.order(index, entry)
        state = None
        if self.events is not None:
            if index % TILE_WIDTH == 0:
                self.events.load(index // TILE_WIDTH)
            state = self.events.check(index, fields)
        if records_shredding(fields["topic"]):
            subject = shredded_subject(
                index, fields["originator_id"], fields["notification_id"], state
            )
            self.shredded.append(subject)

    def accept_prepared(self, start: int, prepared: PreparedBundle) -> bool:
        """Take a bundle checked ahead, if it follows on from the bundles before.

        False sends it entry by entry: an order break across bundles, or events
        left over from the bundle before, are then named precisely.
        """
        if prepared.first_notification_id <= self.order.last_notification_id:
            return False
        if self.events is not None:
            if self.events.states or not prepared.events_checked:
                return False
            self.events.checked += prepared.events_checked
        self.order.last_notification_id = prepared.last_notification_id
        self.shredded.extend(prepared.shredded)
        return True

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
    shredded_subjects: list[ShreddedSubject] = field(default_factory=list)


def verify_export(
    directory: Path | str,
    vkeys: Sequence[str],
    known_checkpoints: Sequence[bytes] = (),
    *,
    jobs: int = 1,
) -> ExportReport:
    """Audit an export offline; raise a VerificationError at the first divergence.

    1. Verify the export's checkpoint and every known checkpoint against vkeys.
    2. Refuse an export older than a known checkpoint (a rollback).
    3. Rebuild every leaf and tile from the entries and compare them (audit_tree);
       check entry order and, where the export has them, each stored event;
       note the entries that record a shredded subject (records_shredding).
    4. Check each known checkpoint's root and a consistency proof to it.

    With `jobs` above 1, bundles are hashed and checked in that many worker
    processes (prepared_bundles); the verdict and its first divergence are
    the same as with one.
    """
    keys = load_verifier_keys(vkeys)
    export = ExportDirectory(Path(directory))
    signed = _export_checkpoint(export, keys)
    export.size = signed.size
    known = [open_ledger_checkpoint(note, keys) for note in known_checkpoints]
    _check_not_rolled_back(signed, known)

    entries = _ExportEntries(export)
    roots_at = [checkpoint.size for checkpoint in known]
    with_events = entries.events is not None
    prepared = prepared_bundles(export.directory, signed.size, with_events, jobs)
    try:
        audit = audit_tree(
            export,
            signed.size,
            signed,
            check_entry=entries,
            roots_at=roots_at,
            prepared=prepared,
        )
    finally:
        prepared.close()
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
        shredded_subjects=entries.shredded,
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


_MODES = ("checkpoint", "consistency", "receipt")
_OPTION_MODE = {
    "known_checkpoint": "export",
    "jobs": "export",
    "proof": "consistency",
    "tiles": "consistency",
    "entry": "receipt",
    "event_state": "receipt",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgercrm-verify",
        description="Verify a LedgerCRM ledger export, ledger checkpoint, "
        "consistency proof or receipt offline, and print a JSON report.",
        epilog="Exit status: 0 verified, 1 a check failed, 2 misuse or unreadable "
        "input.",
    )
    parser.add_argument(
        "export_dir", nargs="?", type=Path, help="audit this export in full"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--checkpoint", type=Path, metavar="FILE", help="verify a ledger checkpoint"
    )
    modes.add_argument(
        "--consistency",
        nargs=2,
        type=Path,
        metavar=("OLD", "NEW"),
        help="verify two ledger checkpoints and that NEW extends OLD",
    )
    modes.add_argument(
        "--receipt", type=Path, metavar="FILE", help="verify a receipt (.tlog-proof)"
    )
    _add_inputs(parser)
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vkey", action="append", default=[], help="a verifier key")
    parser.add_argument(
        "--vkey-file", action="append", default=[], type=Path, help="vkeys, one a line"
    )
    parser.add_argument(
        "--known-checkpoint",
        action="append",
        default=[],
        type=Path,
        help="export: a ledger checkpoint kept earlier; the export must extend it",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="export: prepare bundles in N worker processes (default: 1, none)",
    )
    parser.add_argument(
        "--proof", type=Path, help='consistency: {"first", "second", "hashes"} JSON'
    )
    parser.add_argument(
        "--tiles", type=Path, metavar="DIR", help="consistency: proof from an export"
    )
    parser.add_argument("--entry", type=Path, help="receipt: the entry, if not in it")
    parser.add_argument("--event-state", type=Path, help="receipt: the stored event")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, not {text!r}")
    return int(text)


def _mode(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> str:
    """The one mode asked for; parser.error (exit 2) for a mix of modes."""
    chosen = [mode for mode in _MODES if getattr(arguments, mode) is not None]
    if arguments.export_dir is not None:
        chosen.append("export")
    if len(chosen) != 1:
        parser.error(
            "give an export directory, or one of --checkpoint, --consistency and "
            "--receipt"
        )
    mode = chosen[0]
    for option, owner in _OPTION_MODE.items():
        if getattr(arguments, option) not in (None, []) and owner != mode:
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag} belongs to the {owner} mode, not the {mode} mode")
    if mode == "consistency" and (arguments.proof is None) == (arguments.tiles is None):
        parser.error("--consistency needs either --proof FILE or --tiles EXPORT_DIR")
    return mode


def _run(mode: str, arguments: argparse.Namespace) -> dict[str, Any]:
    vkeys = _vkeys(arguments)
    if mode == "checkpoint":
        return _checkpoint_report(arguments.checkpoint, vkeys)
    if mode == "consistency":
        return _consistency_report(arguments, vkeys)
    if mode == "receipt":
        receipt = verify_receipt(
            arguments.receipt.read_bytes(),
            vkeys,
            entry=_read_optional(arguments.entry),
            event_state=_read_optional(arguments.event_state),
        )
        return asdict(receipt)
    jobs = arguments.jobs or 1
    return _export_report(arguments.export_dir, vkeys, arguments.known_checkpoint, jobs)


def _checkpoint_report(path: Path, vkeys: Sequence[str]) -> dict[str, Any]:
    signed = verify_checkpoint(path.read_bytes(), vkeys)
    root_hash = encode_base64(signed.root_hash)
    return {"origin": signed.origin, "tree_size": signed.size, "root_hash": root_hash}


def _consistency_report(
    arguments: argparse.Namespace, vkeys: Sequence[str]
) -> dict[str, Any]:
    first, second = (path.read_bytes() for path in arguments.consistency)
    proof = arguments.tiles
    if arguments.proof is not None:
        proof = ConsistencyProofFile.parse(arguments.proof.read_bytes())
    return asdict(verify_ledger_checkpoints(first, second, vkeys, proof))


def _export_report(
    directory: Path, vkeys: Sequence[str], known: Sequence[Path], jobs: int
) -> dict[str, Any]:
    if not directory.is_dir():
        raise LedgerLookupError(f"{directory} is not a directory; give the export's")
    notes = [path.read_bytes() for path in known]
    report = verify_export(directory, vkeys, notes, jobs=jobs)
    result = asdict(report)
    if report.shredded_subjects:
        result["shredded_subjects_note"] = SHREDDED_NOTE
    return result


def _vkeys(arguments: argparse.Namespace) -> list[str]:
    """The --vkey values and every non-blank line of each --vkey-file."""
    vkeys = list(arguments.vkey)
    for path in arguments.vkey_file:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SigningKeyError(f"{path} is not a text file of vkeys") from None
        vkeys.extend(line.strip() for line in text.splitlines() if line.strip())
    return vkeys


def _read_optional(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    """Print a JSON report; return 0 when verified, 1 on divergence, 2 on misuse.

    Reads sys.argv without `argv`, so it serves as the `ledgercrm-verify`
    console script.
    """
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
        mode = _mode(parser, arguments)
    except SystemExit as exit_request:  # --help, or misuse argparse printed
        code = exit_request.code
        return code if isinstance(code, int) else 2
    try:
        report = {"ok": True, "mode": mode, **_run(mode, arguments)}
    except VerificationError as error:
        report, status = {"ok": False, "mode": mode, "failure": _failure(error)}, 1
    except (SigningKeyError, LedgerLookupError, OSError) as error:
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
