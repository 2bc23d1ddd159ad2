"""C2SP signed notes with Ed25519 keys, and ledger checkpoints written as notes."""

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import NoteVerificationError, SigningKeyError
from ledger.merkle import HASH_SIZE

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 64
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


def decode_base64(text: str) -> bytes:
    """Strict standard base64; ValueError for padding or alphabet mistakes."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"{text!r} is not base64") from error
    if base64.b64encode(decoded).decode("ascii") != text:
        raise ValueError(f"{text!r} is not canonical base64")
    return decoded


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_key_name(name: str) -> None:
    """Key names (and so origins) are non-empty, without spaces, plus or controls."""
    if not name or any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise SigningKeyError(
            f"key name {name!r} must be non-empty, without spaces or '+'; "
            "use a schema-less URL such as ledger.example.vn/crm"
        )


def compute_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || public key)[:4], as signed-note defines."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[
        :4
    ]


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifierKey:
    """An Ed25519 verifier key: its name, key id and public key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> "NoteVerifierKey":
        """Read a vkey string `name+hexkeyid+base64(0x01 || public key)`."""
        name, _, rest = vkey.strip().partition("+")
        key_id_text, _, key_text = rest.partition("+")
        check_key_name(name)
        if not _KEY_ID.fullmatch(key_id_text):
            raise SigningKeyError(f"vkey {vkey!r} lacks an 8-digit hex key id")
        key = _decode_typed_key(key_text, f"vkey {vkey!r}")
        if compute_key_id(name, key).hex() != key_id_text:
            raise SigningKeyError(f"vkey {vkey!r} has a key id that does not match")
        return cls(
            name, bytes.fromhex(key_id_text), Ed25519PublicKey.from_public_bytes(key)
        )

    def __str__(self) -> str:
        key = encode_base64(ED25519_TYPE + _public_bytes(self.public_key))
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise NoteVerificationError unless `signature` signs `text`."""
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            raise NoteVerificationError(
                f"the signature by {self.name}+{self.key_id.hex()} does not verify"
            ) from None


def _decode_typed_key(text: str, what: str) -> bytes:
    try:
        typed = decode_base64(text)
    except ValueError as error:
        raise SigningKeyError(f"{what} does not end in base64 key bytes") from error
    if len(typed) != 33 or typed[:1] != ED25519_TYPE:
        raise SigningKeyError(f"{what} is not an Ed25519 (type 0x01) key")
    return typed[1:]


@dataclass(frozen=True)
class NoteSigningKey:
    """An Ed25519 note signing key and the name it signs as."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> "NoteSigningKey":
        check_key_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> "NoteSigningKey":
        """Read `PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)`."""
        fields = skey.strip().split("+", 4)
        if len(fields) != 5 or fields[:2] != ["PRIVATE", "KEY"]:
            raise SigningKeyError("not a signing key: it must start with PRIVATE+KEY+")
        name, key_id_text, seed_text = fields[2:]
        check_key_name(name)
        seed = _decode_typed_key(seed_text, "the signing key")
        signing_key = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signing_key.verifier_key.key_id.hex() != key_id_text:
            raise SigningKeyError("the signing key's key id does not match its key")
        return signing_key

    def encode(self) -> str:
        """The key in the signed-note private key format."""
        seed = self.private_key.private_bytes_raw()
        key_id = self.verifier_key.key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{key_id}+{encode_base64(ED25519_TYPE + seed)}"

    @property
    def verifier_key(self) -> NoteVerifierKey:
        public_key = self.private_key.public_key()
        key_id = compute_key_id(self.name, _public_bytes(public_key))
        return NoteVerifierKey(self.name, key_id, public_key)

    def signature_line(self, text: bytes) -> str:
        """`— name base64(key id || signature)` for this note text."""
        signature = self.verifier_key.key_id + self.private_key.sign(text)
        return f"{SIGNATURE_PREFIX}{self.name} {encode_base64(signature)}\n"


def sign_note(text: bytes, signing_keys: Sequence[NoteSigningKey]) -> bytes:
    """The signed note: text, a blank line, then one signature line per key."""
    check_note_text(text)
    lines = [key.signature_line(text) for key in signing_keys]
    return text + b"\n" + "".join(lines).encode()


def check_note_text(text: bytes) -> None:
    """Note text is UTF-8 without control characters and ends in a newline."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteVerificationError("the note is not valid UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise NoteVerificationError("the note holds control characters")
    if not decoded.endswith("\n"):
        raise NoteVerificationError("the note text must end with a newline")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key id and signature bytes."""

    name: str
    key_id: bytes
    signature: bytes


def split_note(note: bytes) -> tuple[bytes, list[NoteSignature]]:
    """The text and the signature lines of a signed note, checked for form only."""
    check_note_text(note)
    split = note.rfind(b"\n\n")
    if split < 0:
        raise NoteVerificationError("the note has no blank line before its signatures")
    text, lines = note[: split + 1], note[split + 2 :].decode().splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteVerificationError(
            f"the note has {len(lines)} signature lines; 1 to {MAX_SIGNATURES} expected"
        )
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> NoteSignature:
    name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
    if not line.startswith(SIGNATURE_PREFIX) or not name or " " in encoded:
        raise NoteVerificationError(f"malformed signature line {line!r}")
    try:
        signature = decode_base64(encoded)
    except ValueError:
        raise NoteVerificationError(f"signature line {line!r} is not base64") from None
    if len(signature) < 5:
        raise NoteVerificationError(f"signature line {line!r} is too short")
    return NoteSignature(name, signature[:4], signature[4:])


def open_note(note: bytes, verifier_keys: Sequence[NoteVerifierKey]) -> bytes:
    """The note text, once every signature by a known key has verified.

    Signatures by unknown keys are ignored; at least one known key must sign.
    """
    text, signatures = split_note(note)
    known = {(key.name, key.key_id): key for key in verifier_keys}
    verified = 0
    for signature in signatures:
        key = known.get((signature.name, signature.key_id))
        if key is not None:
            key.verify(text, signature.signature)
            verified += 1
    if not verified:
        names = ", ".join(str(key) for key in verifier_keys) or "none"
        raise NoteVerificationError(f"the note is not signed by a known key ({names})")
    return text


@dataclass(frozen=True)
class LedgerCheckpoint:
    """A signed tree head: origin, tree size, root hash and the signed note."""

    origin: str
    size: int
    root_hash: bytes
    note: bytes


def checkpoint_text(origin: str, size: int, root_hash: bytes) -> bytes:
    """The C2SP tlog-checkpoint note text: origin, size and base64 root."""
    check_key_name(origin)
    return f"{origin}\n{size}\n{encode_base64(root_hash)}\n".encode()


def parse_checkpoint_text(text: bytes) -> tuple[str, int, bytes]:
    """Origin, tree size and root hash of a checkpoint's note text."""
    lines = text.decode().split("\n")[:-1]
    if len(lines) < 3 or not all(lines):
        raise NoteVerificationError("a checkpoint needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not _TREE_SIZE.fullmatch(size_text):
        raise NoteVerificationError(f"checkpoint tree size {size_text!r} is malformed")
    try:
        root_hash = decode_base64(root_text)
    except ValueError:
        raise NoteVerificationError("checkpoint root hash is not base64") from None
    if len(root_hash) != HASH_SIZE:
        raise NoteVerificationError("checkpoint root hash is not 32 bytes")
    return origin, int(size_text), root_hash


def open_ledger_checkpoint(
    note: bytes, verifier_keys: Sequence[NoteVerifierKey]
) -> LedgerCheckpoint:
    """A verified ledger checkpoint, signed by a known key named after its origin."""
    origin, size, root_hash = parse_checkpoint_text(split_note(note)[0])
    own_keys = [key for key in verifier_keys if key.name == origin]
    if not own_keys:
        raise NoteVerificationError(
            f"no verifier key is named after the checkpoint origin {origin!r}"
        )
    open_note(note, own_keys)
    return LedgerCheckpoint(origin, size, root_hash, note)


def read_ledger_checkpoint(note: bytes) -> LedgerCheckpoint:
    """A ledger checkpoint parsed without verifying its signatures (own store)."""
    origin, size, root_hash = parse_checkpoint_text(split_note(note)[0])
    return LedgerCheckpoint(origin, size, root_hash, note)
