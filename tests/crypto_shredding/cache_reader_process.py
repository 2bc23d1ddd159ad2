"""A second process that keeps a data key cached and reads on command.

Run as `python -m tests.crypto_shredding.cache_reader_process BACKEND WHERE KEY_FILE
SUBJECT SEALED`: it answers `opened` or `erased` for each `read` line on stdin.
"""

import sys
from pathlib import Path
from uuid import UUID

from crypto_shredding import DataKeys, KeyStore, SealedValue, load_wrapping_keys
from crypto_shredding.postgres_key_store import PostgresKeyStore
from crypto_shredding.sealing import unseal
from crypto_shredding.sqlite_key_store import SQLiteKeyStore


def main(backend: str, where: str, key_file: str, subject: str, sealed: str) -> None:
    store: KeyStore = (
        SQLiteKeyStore(Path(where)) if backend == "sqlite" else PostgresKeyStore(where)
    )
    # Only invalidation can make this process forget: the time limit is an hour.
    data_keys = DataKeys(store, load_wrapping_keys(Path(key_file)), cache_seconds=3600)
    value = SealedValue.from_text(sealed)
    assert value.context.subject_id == UUID(subject)
    line = "read"
    while line:
        if line.strip() == "read":
            answer(data_keys, value)
        line = sys.stdin.readline()
    store.close()


def answer(data_keys: DataKeys, value: SealedValue) -> None:
    data_key = data_keys.for_reading(value.context.subject_id)
    if data_key is None:
        print("erased", flush=True)
    else:
        unseal(data_key, value.ciphertext, value.context)
        print("opened", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
