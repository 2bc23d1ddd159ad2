"""AES-256-GCM sealing of one personal value, bound to its subject, event and field."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto_shredding.errors import UndecryptableError

NONCE_BYTES = 12


@dataclass(frozen=True)
class FieldContext:
    """Where a sealed value lives; it is authenticated with the value."""

    subject_id: UUID
    originator_id: UUID
    originator_version: int
    field: str

    def associated_data(self) -> bytes:
        parts = (
            "ledgercrm-field/1",
            self.subject_id.hex,
            self.originator_id.hex,
            str(self.originator_version),
            self.field,
        )
        return "\x00".join(parts).encode()


def seal(data_key: bytes, plaintext: bytes, context: FieldContext) -> bytes:
    """Encrypts with a fresh random nonce; returns the nonce followed by ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, context.associated_data())


def unseal(data_key: bytes, sealed: bytes, context: FieldContext) -> bytes:
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, context.associated_data())
    except (InvalidTag, ValueError):
        raise UndecryptableError from None


@dataclass(frozen=True)
class SealedValue:
    """A personal value as ciphertext, with the context needed to open it later.

    Read models keep these instead of plaintext; opening one needs the subject's
    data key, so shredding the key makes every copy unreadable at once.
    """

    context: FieldContext
    ciphertext: bytes

    def to_text(self) -> str:
        c = self.context
        blob = base64.urlsafe_b64encode(self.ciphertext).decode("ascii")
        return ".".join(
            (
                c.subject_id.hex,
                c.originator_id.hex,
                str(c.originator_version),
                c.field,
                blob,
            )
        )

    @classmethod
    def from_text(cls, text: str) -> SealedValue:
        try:
            subject, originator, version, rest = text.split(".", 3)
            field, blob = rest.rsplit(".", 1)  # field names may hold dots, base64 not
            context = FieldContext(UUID(subject), UUID(originator), int(version), field)
            return cls(context, base64.urlsafe_b64decode(blob))
        except ValueError:
            raise UndecryptableError from None
