"""Data keys per data subject: made on first use, cached briefly, shredded."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from uuid import UUID

from crypto_shredding.errors import SubjectErasedError
from crypto_shredding.key_store import KeyStore, Tombstone, WrappedDataKey
from crypto_shredding.wrapping_key import WrappingKeyRing

logger = logging.getLogger(__name__)


class DataKeys:
    """Hands out each subject's data key, unwrapped, and shreds it on erasure.

    Unwrapped keys stay in memory for at most `cache_seconds`, so a shred in
    another process takes effect here within that time. (Issue 3 replaces the time
    limit by a version check or PostgreSQL notification.)
    """

    def __init__(
        self,
        store: KeyStore,
        wrapping_keys: WrappingKeyRing,
        *,
        cache_size: int = 10_000,
        cache_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self._wrapping_keys = wrapping_keys
        self._cache: OrderedDict[UUID, tuple[float, bytes | None]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()

    def for_writing(self, subject_id: UUID) -> bytes:
        """The subject's data key, created if it has none; refused once shredded."""
        data_key = self._cached(subject_id)
        if data_key is None:
            data_key = self._load_or_create(subject_id)
        return data_key

    def for_reading(self, subject_id: UUID) -> bytes | None:
        """The subject's data key, or None when it was shredded or never existed."""
        data_key = self._cached(subject_id)
        if data_key is not None:
            return data_key
        stored = self.store.find(subject_id)
        if not isinstance(stored, WrappedDataKey):
            return None
        return self._remember(subject_id, self._unwrap(stored))

    def shred(self, subject_id: UUID, reason: str) -> Tombstone:
        """Destroys the subject's data key, leaving a tombstone; safe to repeat."""
        tombstone = self.store.shred(subject_id, reason, datetime.now(UTC))
        with self._lock:
            self._cache.pop(subject_id, None)
        logger.info("data key %s shredded", tombstone.data_key_id)
        return tombstone

    def _load_or_create(self, subject_id: UUID) -> bytes:
        stored = self.store.find(subject_id)
        if stored is None:
            stored = self.store.add(self._new_wrapped_key(subject_id))
        if isinstance(stored, Tombstone):
            raise SubjectErasedError(subject_id)
        return self._remember(subject_id, self._unwrap(stored))

    def _new_wrapped_key(self, subject_id: UUID) -> WrappedDataKey:
        wrapping_key = self._wrapping_keys.current
        return WrappedDataKey(
            subject_id=subject_id,
            data_key_id=uuid.uuid4(),
            wrapped=wrapping_key.wrap(os.urandom(32)),
            wrapping_key_version=wrapping_key.version,
            created_at=datetime.now(UTC),
        )

    def _unwrap(self, stored: WrappedDataKey) -> bytes:
        wrapping_key = self._wrapping_keys.version(stored.wrapping_key_version)
        return wrapping_key.unwrap(stored.wrapped)

    def _cached(self, subject_id: UUID) -> bytes | None:
        with self._lock:
            entry = self._cache.get(subject_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._cache[subject_id]
                return None
            self._cache.move_to_end(subject_id)
            return entry[1]

    def _remember(self, subject_id: UUID, data_key: bytes) -> bytes:
        with self._lock:
            self._cache[subject_id] = (time.monotonic() + self._cache_seconds, data_key)
            self._cache.move_to_end(subject_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return data_key
