"""Ledger signing key files and the signer of ledger checkpoints."""

import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ledger.errors import SigningKeyError
from ledger.notes import (
    LedgerCheckpoint,
    NoteSigningKey,
    NoteVerifierKey,
    checkpoint_text,
    sign_note,
)

logger = logging.getLogger(__name__)


def create_signing_key(path: Path | str, origin: str) -> str:
    """Create a signing key file (mode 0600) named after `origin`; return its vkey."""
    path = Path(path)
    signing_key = NoteSigningKey.generate(origin)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(
            f"ledger signing key file {path} already exists; keep it, or to rotate "
            "create the new key at another path and configure both for a while"
        ) from None
    except OSError as error:
        raise SigningKeyError(
            f"cannot create ledger signing key file {path}: {error.strerror}; "
            "check that its folder exists and is writable"
        ) from error
    with os.fdopen(descriptor, "w", encoding="ascii") as key_file:
        key_file.write(signing_key.encode() + "\n")

    vkey = signing_key.verifier_key
    logger.info("created ledger signing key %s+%s", origin, vkey.key_id.hex())
    return str(vkey)


def load_signing_key(path: Path | str) -> NoteSigningKey:
    """Read a signing key file, refusing one that other users can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SigningKeyError(
            f"ledger signing key file {path} does not exist; create it with "
            "`ledgercrm init` or point the setting at the existing key file"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeyError(f"cannot read ledger signing key file {path}") from error

    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"ledger signing key file {path} has mode {stat.S_IMODE(mode):04o}, "
            f"readable by other users; run `chmod 600 {path}`"
        )
    try:
        return NoteSigningKey.parse(text)
    except SigningKeyError as error:
        raise SigningKeyError(f"{path} is not a ledger signing key: {error}") from None


class LedgerSigner:
    """Signs ledger checkpoints with one key, or two while a key is rotated."""

    def __init__(self, signing_keys: Sequence[NoteSigningKey]) -> None:
        names = {signing_key.name for signing_key in signing_keys}
        if len(names) != 1:
            raise SigningKeyError(
                "give one or two signing keys, all named after the same origin; "
                f"got names {sorted(names)}"
            )
        self.origin = names.pop()
        self._signing_keys = list(signing_keys)

    @classmethod
    def from_key_files(cls, *paths: Path | str) -> "LedgerSigner":
        """A signer with the keys in these files, the current key first."""
        return cls([load_signing_key(path) for path in paths])

    @property
    def verifier_keys(self) -> list[NoteVerifierKey]:
        return [signing_key.verifier_key for signing_key in self._signing_keys]

    @property
    def vkeys(self) -> list[str]:
        """The verifier keys to publish, as vkey strings."""
        return [str(key) for key in self.verifier_keys]

    def sign(self, size: int, root_hash: bytes) -> LedgerCheckpoint:
        """A ledger checkpoint for this tree head, with one signature per key."""
        text = checkpoint_text(self.origin, size, root_hash)
        note = sign_note(text, self._signing_keys)
        return LedgerCheckpoint(self.origin, size, root_hash, note)
