"""Receipts: an entry's inclusion proof and ledger checkpoint as a C2SP tlog-proof."""

import re
from dataclasses import dataclass, field

from ledger.errors import ReceiptError
from ledger.notes import decode_base64, encode_base64

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Receipt:
    """Leaf index, inclusion proof, signed checkpoint and (as extra) the entry."""

    index: int
    proof: list[bytes]
    ledger_checkpoint_note: bytes
    extra: bytes | None = field(default=None)


def format_receipt(receipt: Receipt) -> bytes:
    """The receipt in the tlog-proof text format."""
    lines = [RECEIPT_HEADER]
    if receipt.extra is not None:
        lines.append(f"extra {encode_base64(receipt.extra)}")
    lines.append(f"index {receipt.index}")
    lines.extend(encode_base64(sibling) for sibling in receipt.proof)
    head = "\n".join(lines) + "\n\n"
    return head.encode() + receipt.ledger_checkpoint_note


def parse_receipt(text: bytes) -> Receipt:
    """Read a tlog-proof; the checkpoint is kept verbatim for verification."""
    head, blank, note = text.partition(b"\n\n")
    if not blank:
        raise ReceiptError("the receipt has no blank line before its checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise ReceiptError("the receipt's proof lines are not ASCII") from None
    if lines[0] != RECEIPT_HEADER:
        raise ReceiptError(f"the receipt does not start with {RECEIPT_HEADER}")

    extra = None
    if len(lines) > 1 and lines[1].startswith("extra "):
        extra = _base64(lines.pop(1).removeprefix("extra "), "extra data")
    match = _INDEX.fullmatch(lines[1]) if len(lines) > 1 else None
    if match is None:
        raise ReceiptError("the receipt lacks an `index N` line after its header")
    proof = [_base64(line, "proof hash") for line in lines[2:]]
    return Receipt(int(match.group(1)), proof, note, extra)


def _base64(text: str, what: str) -> bytes:
    try:
        return decode_base64(text)
    except ValueError:
        raise ReceiptError(f"the receipt's {what} is not canonical base64") from None
