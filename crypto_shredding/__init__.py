"""Envelope encryption of personal fields per data subject, and crypto-shredding."""

from crypto_shredding.data_keys import DataKeys
from crypto_shredding.errors import (
    CryptoShreddingError,
    KeyStoreError,
    MarkerError,
    SubjectErasedError,
    UndecryptableError,
    WrappingKeyError,
)
from crypto_shredding.key_store import KeyStore, Tombstone, WrappedDataKey
from crypto_shredding.keyed_hashes import KeyedHashes
from crypto_shredding.mapper import PersonalDataMapper, SealingEventStore
from crypto_shredding.markers import (
    ERASED,
    DataSubject,
    Erased,
    Personal,
    PersonalState,
)
from crypto_shredding.sealing import FieldContext, SealedValue
from crypto_shredding.shredder import CryptoShredder
from crypto_shredding.wrapping_key import (
    WrappingKey,
    WrappingKeyRing,
    create_wrapping_key_file,
    load_wrapping_keys,
)

__all__ = [
    "ERASED",
    "CryptoShredder",
    "CryptoShreddingError",
    "DataKeys",
    "DataSubject",
    "Erased",
    "FieldContext",
    "KeyStore",
    "KeyStoreError",
    "KeyedHashes",
    "MarkerError",
    "Personal",
    "PersonalDataMapper",
    "PersonalState",
    "SealedValue",
    "SealingEventStore",
    "SubjectErasedError",
    "Tombstone",
    "UndecryptableError",
    "WrappedDataKey",
    "WrappingKey",
    "WrappingKeyError",
    "WrappingKeyRing",
    "create_wrapping_key_file",
    "load_wrapping_keys",
]
