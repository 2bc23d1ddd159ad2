"""Verifiable audit ledger: RFC 6962 tree, signed checkpoints, proofs, export."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.errors import (
        ConsistencyProofError,
        InclusionProofError,
        InconsistentLedgerCheckpoint,
        IntegratorAlreadyRunning,
        LedgerDivergence,
        LedgerError,
        LedgerIntegrityError,
        LedgerLookupError,
        LedgerStoreError,
        NoteVerificationError,
        ReceiptError,
        SigningKeyError,
        VerificationError,
    )
    from ledger.exporter import export
    from ledger.integrator import LedgerIntegrator
    from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
    from ledger.notes import LedgerCheckpoint, NoteVerifierKey
    from ledger.postgres_ledger_store import PostgresLedgerStore
    from ledger.reader import InclusionProof, LedgerReader
    from ledger.signing import LedgerSigner, create_signing_key, load_signing_key
    from ledger.sqlite_ledger_store import SQLiteLedgerStore
    from ledger.store import IntegratorPosition, LedgerStore, open_ledger_store
    from ledger.verify import verify_checkpoint, verify_export, verify_receipt

_PUBLIC = {
    "ledger.errors": [
        "ConsistencyProofError",
        "InclusionProofError",
        "InconsistentLedgerCheckpoint",
        "IntegratorAlreadyRunning",
        "LedgerDivergence",
        "LedgerError",
        "LedgerIntegrityError",
        "LedgerLookupError",
        "LedgerStoreError",
        "NoteVerificationError",
        "ReceiptError",
        "SigningKeyError",
        "VerificationError",
    ],
    "ledger.exporter": ["export"],
    "ledger.integrator": ["LedgerIntegrator"],
    "ledger.merkle": ["leaf_hash", "verify_consistency", "verify_inclusion"],
    "ledger.notes": ["LedgerCheckpoint", "NoteVerifierKey"],
    "ledger.postgres_ledger_store": ["PostgresLedgerStore"],
    "ledger.reader": ["InclusionProof", "LedgerReader"],
    "ledger.signing": ["LedgerSigner", "create_signing_key", "load_signing_key"],
    "ledger.sqlite_ledger_store": ["SQLiteLedgerStore"],
    "ledger.store": ["IntegratorPosition", "LedgerStore", "open_ledger_store"],
    "ledger.verify": ["verify_checkpoint", "verify_export", "verify_receipt"],
}
_MODULE_OF = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = [
    "ConsistencyProofError",
    "InclusionProof",
    "InclusionProofError",
    "InconsistentLedgerCheckpoint",
    "IntegratorAlreadyRunning",
    "IntegratorPosition",
    "LedgerCheckpoint",
    "LedgerDivergence",
    "LedgerError",
    "LedgerIntegrator",
    "LedgerIntegrityError",
    "LedgerLookupError",
    "LedgerReader",
    "LedgerSigner",
    "LedgerStore",
    "LedgerStoreError",
    "NoteVerificationError",
    "NoteVerifierKey",
    "PostgresLedgerStore",
    "ReceiptError",
    "SQLiteLedgerStore",
    "SigningKeyError",
    "VerificationError",
    "create_signing_key",
    "export",
    "leaf_hash",
    "load_signing_key",
    "open_ledger_store",
    "verify_checkpoint",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_receipt",
]


def __getattr__(name: str) -> Any:
    """Import on first use, so `python -m ledger.verify` loads no database driver."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
