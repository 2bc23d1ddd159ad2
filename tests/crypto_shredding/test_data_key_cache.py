"""The cache of unwrapped data keys: bounded, and emptied by a shred anywhere."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from crypto_shredding import (
    DataKeys,
    FieldContext,
    KeyStore,
    SealedValue,
    WrappingKeyRing,
)
from crypto_shredding.sealing import seal

ROOT = Path(__file__).resolve().parents[2]


def sealed_for(data_keys: DataKeys, subject_id: uuid.UUID) -> SealedValue:
    context = FieldContext(subject_id, subject_id, 1, "motto")
    data_key = data_keys.for_writing(subject_id)
    return SealedValue(context, seal(data_key, b'"Qz-cache-marker"', context))


def test_cached_key_is_served_without_asking_the_store(
    key_store: KeyStore, wrapping_keys: WrappingKeyRing
) -> None:
    subject_id = uuid.uuid4()
    reader = DataKeys(key_store, wrapping_keys, freshness_seconds=3600)
    shredder = DataKeys(key_store, wrapping_keys)
    data_key = reader.for_writing(subject_id)

    shredder.shred(subject_id, "erased elsewhere")

    # Within the freshness window the cache alone answers: this is what it saves.
    assert reader.for_reading(subject_id) == data_key


def test_shred_elsewhere_empties_the_cache_at_the_next_check(
    key_store: KeyStore, wrapping_keys: WrappingKeyRing
) -> None:
    subject_id, kept_id = uuid.uuid4(), uuid.uuid4()
    reader = DataKeys(key_store, wrapping_keys, freshness_seconds=0)
    shredder = DataKeys(key_store, wrapping_keys)
    reader.for_writing(subject_id)
    kept = reader.for_writing(kept_id)

    shredder.shred(subject_id, "erased elsewhere")

    assert reader.for_reading(subject_id) is None
    assert reader.for_reading(kept_id) == kept


def test_cache_holds_at_most_its_size(
    key_store: KeyStore, wrapping_keys: WrappingKeyRing
) -> None:
    data_keys = DataKeys(key_store, wrapping_keys, cache_size=3)

    for _ in range(10):
        data_keys.for_writing(uuid.uuid4())

    assert len(data_keys._cache) == 3


def test_cached_key_expires_after_its_time_limit(
    key_store: KeyStore, wrapping_keys: WrappingKeyRing
) -> None:
    subject_id = uuid.uuid4()
    data_keys = DataKeys(key_store, wrapping_keys, cache_seconds=0)

    data_keys.for_writing(subject_id)

    assert data_keys._cached(subject_id) is None


@pytest.mark.requirement("DSR-ERASE")
def test_shred_in_one_process_stops_another_from_decrypting_within_a_second(
    backend: str,
    key_store: KeyStore,
    key_store_location: str,
    wrapping_keys: WrappingKeyRing,
    wrapping_key_file: Path,
) -> None:
    data_keys = DataKeys(key_store, wrapping_keys)
    subject_id = uuid.uuid4()
    sealed = sealed_for(data_keys, subject_id)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.crypto_shredding.cache_reader_process",
            backend,
            key_store_location,
            str(wrapping_key_file),
            subject_id.hex,
            sealed.to_text(),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert reader.stdout.readline().strip() == "opened"  # key now cached there

        data_keys.shred(subject_id, "DSR-ERASE request 9")
        time.sleep(1.0)  # the promise: one second after the shred, no process opens
        reader.stdin.write("read\n")
        reader.stdin.flush()

        assert reader.stdout.readline().strip() == "erased"
    finally:
        reader.stdin.close()
        reader.wait(timeout=10)
