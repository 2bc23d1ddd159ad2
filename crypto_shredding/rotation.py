"""Wrapping key rotation: every data key re-wrapped by the current version.

Events are never touched: they are sealed by data keys, which do not change; only
the wrapped copies of the data keys in the key store do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from crypto_shredding.key_store import KeyStore
from crypto_shredding.wrapping_key import WrappingKeys

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def pending_rewraps(store: KeyStore, wrapping_keys: WrappingKeys) -> dict[int, int]:
    """How many live data keys each non-current wrapping key version still wraps."""
    current = wrapping_keys.current.version
    in_use = store.wrapping_key_versions()
    return {version: count for version, count in in_use.items() if version != current}


def rewrap_data_keys(
    store: KeyStore,
    wrapping_keys: WrappingKeys,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> int:
    """Re-wraps every live data key with the current wrapping key version.

    Each key is re-wrapped in its own compare-and-set write, so a crash loses at
    most the key in flight, and running this again resumes where it stopped. A key
    shredded meanwhile stays shredded: its write finds nothing to replace.
    """
    current = wrapping_keys.current
    pending = pending_rewraps(store, wrapping_keys)
    total, done = sum(pending.values()), 0
    for version in sorted(pending):
        retired = wrapping_keys.version(version)
        while batch := store.wrapped_by(version, batch_size):
            for data_key in batch:
                rewrapped = current.wrap(retired.unwrap(data_key.wrapped))
                store.rewrap(data_key, rewrapped, current.version)
                done += 1
            if progress is not None:
                progress(done, max(total, done))
    logger.info("%d data keys re-wrapped by wrapping key %d", done, current.version)
    return done
