"""Exception types of the audit ledger, caught by class and never by message."""


class LedgerError(Exception):
    """Base class of every error the ledger raises."""


class SigningKeyError(LedgerError):
    """A ledger signing key or verifier key cannot be created or loaded."""


class LedgerStoreError(LedgerError):
    """The ledger store failed; the driver error is chained as the cause."""


class IntegratorAlreadyRunning(LedgerError):
    """Another integrator holds the ledger lock."""


class LedgerIntegrityError(LedgerError):
    """The stored ledger disagrees with a ledger checkpoint it signed earlier."""


class InconsistentLedgerCheckpoint(LedgerError):
    """A new ledger checkpoint would not extend the previous one."""


class LedgerLookupError(LedgerError, LookupError):
    """What was asked for is not in the ledger (entry, tree size or tile)."""


class VerificationError(LedgerError):
    """Base class of every failed verification."""


class NoteVerificationError(VerificationError):
    """A signed note or ledger checkpoint is malformed or its signature fails."""


class ProofVerificationError(VerificationError):
    """A Merkle proof does not prove what it claims."""


class InclusionProofError(ProofVerificationError):
    """An inclusion proof does not lead from the entry to the root."""


class ConsistencyProofError(ProofVerificationError):
    """A consistency proof does not join the two tree heads."""


class ReceiptError(VerificationError):
    """A receipt (C2SP tlog-proof) is malformed or does not verify."""


class LedgerDivergence(VerificationError):
    """Stored or exported ledger data differs from what the checkpoint commits to.

    Carries where it diverges: the check that failed, the entry index and the
    tlog-tiles path when known, and the expected and found values.
    """

    def __init__(
        self,
        check: str,
        message: str,
        *,
        index: int | None = None,
        path: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        super().__init__(message)
        self.check = check
        self.message = message
        self.index = index
        self.path = path
        self.expected = expected
        self.found = found

    def as_dict(self) -> dict[str, object]:
        """The divergence as a JSON-ready mapping, without the empty fields."""
        fields: dict[str, object] = {"check": self.check, "message": self.message}
        for name in ("index", "path", "expected", "found"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields
