"""Fixtures for crypto-shredding: a wrapping key, key stores and data keys."""

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from crypto_shredding import (
    DataKeys,
    KeyStore,
    PersonalDataMapper,
    WrappingKeyRing,
    create_wrapping_key_file,
    load_wrapping_keys,
)
from crypto_shredding.postgres_key_store import PostgresKeyStore
from crypto_shredding.sqlite_key_store import SQLiteKeyStore


def default_transcoder() -> JSONTranscoder:
    """A JSONTranscoder with the transcodings an eventsourcing Application adds."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


@pytest.fixture
def plain_mapper() -> Mapper[UUID]:
    """eventsourcing's own mapper, which stores every field as given."""
    return Mapper(default_transcoder())


@pytest.fixture
def wrapping_key_file(tmp_path: Path) -> Path:
    """A freshly created wrapping key file."""
    key_file = tmp_path / "wrapping_key.json"
    create_wrapping_key_file(key_file)
    return key_file


@pytest.fixture
def wrapping_keys(wrapping_key_file: Path) -> WrappingKeyRing:
    """The key ring of a freshly created wrapping key file."""
    return load_wrapping_keys(wrapping_key_file)


@pytest.fixture
def sqlite_key_store(tmp_path: Path) -> Iterator[SQLiteKeyStore]:
    store = SQLiteKeyStore(tmp_path / "keys.sqlite3")
    yield store
    store.close()


@pytest.fixture
def key_store_location(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> str:
    """Where the key store under test lives: a SQLite file or a fresh database."""
    if backend == "sqlite":
        return str(tmp_path / "keys.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def key_store(backend: str, key_store_location: str) -> Iterator[KeyStore]:
    """A key store on the backend under test: a SQLite file or a fresh database."""
    if backend == "sqlite":
        store: KeyStore = SQLiteKeyStore(Path(key_store_location))
    else:
        store = PostgresKeyStore(key_store_location, max_size=4)
    yield store
    store.close()


@pytest.fixture
def data_keys(
    sqlite_key_store: SQLiteKeyStore, wrapping_keys: WrappingKeyRing
) -> DataKeys:
    return DataKeys(sqlite_key_store, wrapping_keys)


@pytest.fixture
def mapper(data_keys: DataKeys) -> PersonalDataMapper:
    return PersonalDataMapper(default_transcoder(), data_keys)
