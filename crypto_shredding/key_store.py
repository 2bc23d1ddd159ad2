"""The data key store interface: wrapped data keys and tombstones of shredded ones."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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

    def find_many(self, subject_ids: Sequence[UUID]) -> dict[UUID, StoredKey]:
        """What `find` gives for each subject that has a key or a tombstone; a
        store that can answers in one round trip."""
        found = {subject_id: self.find(subject_id) for subject_id in subject_ids}
        return {subject: key for subject, key in found.items() if key is not None}

    def add_many(self, data_keys: Sequence[WrappedDataKey]) -> list[StoredKey]:
        """`add` for each key, in order; a store that can writes them all in one
        transaction."""
        return [self.add(data_key) for data_key in data_keys]

    @abstractmethod
    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        """Replaces the subject's data key by a tombstone; repeating it changes nothing.

        A subject without a key gets a tombstone too, so no key can appear later.
        """

    @abstractmethod
    def shred_version(self) -> int:
        """A number that grows with every shred, for caches in other processes."""

    @abstractmethod
    def wrapping_key_versions(self) -> dict[int, int]:
        """How many live data keys each wrapping key version wraps."""

    @abstractmethod
    def wrapped_by(self, version: int, limit: int) -> list[WrappedDataKey]:
        """Up to `limit` live data keys wrapped by wrapping key `version`."""

    @abstractmethod
    def rewrap(self, old: WrappedDataKey, wrapped: bytes, version: int) -> bool:
        """Replaces `old`'s wrapped bytes unless it changed (shredded, re-wrapped)
        since it was read; says whether it did."""

    @abstractmethod
    def close(self) -> None:
        """Releases connections."""
