"""Exceptions raised by crypto-shredding, one class per question a caller asks."""


class CryptoShreddingError(Exception):
    """Base class for errors of the crypto_shredding package."""


class SubjectErasedError(CryptoShreddingError):
    """Personal data was offered for a data subject whose data key was shredded."""

    def __init__(self, subject_id: object) -> None:
        super().__init__(
            f"data subject {subject_id} was erased; personal data can no longer be "
            "stored for it: register the person anew to start a new record"
        )
        self.subject_id = subject_id


class UndecryptableError(CryptoShreddingError):
    """A sealed value cannot be decrypted (wrong key or tampered ciphertext)."""

    def __init__(self) -> None:
        super().__init__("a sealed personal value cannot be decrypted")


class WrappingKeyError(CryptoShreddingError):
    """The wrapping key file is missing, unreadable or malformed."""


class KeyStoreError(CryptoShreddingError):
    """The data key store failed; the driver error is chained as the cause."""


class MarkerError(CryptoShreddingError, TypeError):
    """An event class marks personal fields but no data subject, or several."""
