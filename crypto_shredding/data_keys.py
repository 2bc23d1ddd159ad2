"""Data keys per data subject: made on first use, cached briefly, shredded."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID

from crypto_shredding.errors import (
    SubjectErasedError,
    UndecryptableError,
    WrappingKeyError,
)
from crypto_shredding.key_store import KeyStore, Tombstone, WrappedDataKey
from crypto_shredding.wrapping_key import WrappingKeys

logger = logging.getLogger(__name__)


class DataKeys:
    """Hands out each subject's data key, unwrapped, and shreds it on erasure.

    Unwrapped keys stay in a bounded memory cache for at most `cache_seconds`.
    Every `freshness_seconds` the cache asks the key store whether anything was
    shredded since (a version number that each shred raises) and forgets every key
    if so: a shred in any process stops decryption here within that time.
    """

    def __init__(
        self,
        store: KeyStore,
        wrapping_keys: WrappingKeys,
        *,
        cache_size: int = 10_000,
        cache_seconds: float = 300.0,
        freshness_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.wrapping_keys = wrapping_keys
        self._cache: OrderedDict[UUID, tuple[float, bytes]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._freshness_seconds = freshness_seconds
        self._lock = threading.Lock()
        self._shred_version = store.shred_version()
        self._checked_at = time.monotonic()
        self._generation = 0  # raised whenever the cache is emptied

    def for_writing(self, subject_id: UUID) -> bytes:
        """The subject's data key, created if it has none; refused once shredded."""
        data_key = self._cached(subject_id)
        if data_key is None:
            generation = self._generation
            stored = self.store.find(subject_id)
            if stored is None:
                stored = self.store.add(self._new_wrapped_key(subject_id))
            if isinstance(stored, Tombstone):
                raise SubjectErasedError(subject_id)
            data_key = self._remember(subject_id, self._unwrap(stored), generation)
        return data_key

    def prepare_for_writing(self, subject_ids: Iterable[UUID]) -> None:
        """Puts the data keys of many subjects in the cache at once, creating the
        missing ones: one read and one write of the key store for a whole batch
        instead of one each per subject. Shredded subjects are left out, for
        `for_writing` to refuse."""
        missing = [s for s in dict.fromkeys(subject_ids) if self._cached(s) is None]
        if len(missing) < 2:
            return  # for_writing does as well for one
        generation = self._generation
        found = self.store.find_many(missing)
        made = {
            subject_id: self._new_key(subject_id)
            for subject_id in missing
            if subject_id not in found
        }
        if made:
            added = self.store.add_many([wrapped for _, wrapped in made.values()])
            found.update((stored.subject_id, stored) for stored in added)
        for subject_id, stored in found.items():
            if not isinstance(stored, WrappedDataKey):
                continue
            if subject_id in made and made[subject_id][1] == stored:
                data_key = made[subject_id][0]  # ours won: no need to unwrap it
            else:
                data_key = self._unwrap(stored)
            self._remember(subject_id, data_key, generation)

    def for_reading(self, subject_id: UUID) -> bytes | None:
        """The subject's data key, or None when it was shredded or never existed."""
        data_key = self._cached(subject_id)
        if data_key is not None:
            return data_key
        generation = self._generation
        stored = self.store.find(subject_id)
        if not isinstance(stored, WrappedDataKey):
            return None
        return self._remember(subject_id, self._unwrap(stored), generation)

    def shred(self, subject_id: UUID, reason: str) -> Tombstone:
        """Destroys the subject's data key, leaving a tombstone; safe to repeat."""
        tombstone = self.store.shred(subject_id, reason, datetime.now(UTC))
        with self._lock:
            self._cache.pop(subject_id, None)
        logger.info("data key %s shredded", tombstone.data_key_id)
        return tombstone

    def forget_all(self) -> None:
        """Empties the cache, as when another process shredded a key."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def check_wrapping_keys(self) -> None:
        """Refuses to start when the wrapping keys do not open the stored data keys.

        One data key per wrapping key version in use is unwrapped: a wrong key file
        or token fails here, before anything is written with it.
        """
        for version in sorted(self.store.wrapping_key_versions()):
            for sample in self.store.wrapped_by(version, limit=1):
                try:
                    self._unwrap(sample)
                except UndecryptableError:
                    raise WrappingKeyError(
                        f"wrapping key version {version} of "
                        f"{self.wrapping_keys.description} does not open the stored "
                        f"data keys; point {self.wrapping_keys.setting} at the "
                        "wrapping key these data keys were made with"
                    ) from None

    def _new_wrapped_key(self, subject_id: UUID) -> WrappedDataKey:
        return self._new_key(subject_id)[1]

    def _new_key(self, subject_id: UUID) -> tuple[bytes, WrappedDataKey]:
        """A fresh data key and its wrapped form."""
        # A rotation in another process may have made a newer version current.
        self.wrapping_keys = self.wrapping_keys.refreshed()
        wrapping_key = self.wrapping_keys.current
        data_key = os.urandom(32)
        return data_key, WrappedDataKey(
            subject_id=subject_id,
            data_key_id=uuid.uuid4(),
            wrapped=wrapping_key.wrap(data_key),
            wrapping_key_version=wrapping_key.version,
            created_at=datetime.now(UTC),
        )

    def _unwrap(self, stored: WrappedDataKey) -> bytes:
        number = stored.wrapping_key_version
        if number not in self.wrapping_keys.numbers():
            self.wrapping_keys = self.wrapping_keys.refreshed()  # rotated elsewhere
        return self.wrapping_keys.version(number).unwrap(stored.wrapped)

    def _cached(self, subject_id: UUID) -> bytes | None:
        self._check_freshness()
        with self._lock:
            entry = self._cache.get(subject_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._cache[subject_id]
                return None
            self._cache.move_to_end(subject_id)
            return entry[1]

    def _check_freshness(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._freshness_seconds:
            return
        version = self.store.shred_version()
        self._checked_at = now
        if version != self._shred_version:
            self._shred_version = version
            self.forget_all()
            logger.debug("data keys were shredded elsewhere; cache emptied")

    def _remember(self, subject_id: UUID, data_key: bytes, generation: int) -> bytes:
        with self._lock:
            if generation != self._generation:
                return data_key  # read before a shred elsewhere: do not keep it
            self._cache[subject_id] = (time.monotonic() + self._cache_seconds, data_key)
            self._cache.move_to_end(subject_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return data_key
