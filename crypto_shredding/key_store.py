"""The data key store interface: wrapped data keys and tombstones of shredded ones."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class WrappedDataKey:
    """A subject's data key as stored: wrapped, with the wrapping key version."""

    subject_id: UUID
    data_key_id: UUID
    wrapped: bytes
    wrapping_key_version: int
    created_at: datetime

    def __repr__(self) -> str:
        return f"WrappedDataKey(subject_id={self.subject_id}, id={self.data_key_id})"


@dataclass(frozen=True)
class Tombstone:
    """What remains of a shredded data key: enough to prove it, nothing to decrypt."""

    subject_id: UUID
    data_key_id: UUID
    shredded_at: datetime
    reason: str


StoredKey = WrappedDataKey | Tombstone


class KeyStore(ABC):
    """Keeps one wrapped data key, or one tombstone, per data subject."""

    @abstractmethod
    def find(self, subject_id: UUID) -> StoredKey | None:
        """The subject's wrapped data key or tombstone, or None if it has neither."""

    @abstractmethod
    def add(self, data_key: WrappedDataKey) -> StoredKey:
        """Stores a new data key unless the subject has one; returns what is stored.

        Two writers racing for one subject both get the key that won.
        """

    @abstractmethod
    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        """Replaces the subject's data key by a tombstone; repeating it changes nothing.

        A subject without a key gets a tombstone too, so no key can appear later.
        """

    @abstractmethod
    def close(self) -> None:
        """Releases connections."""
