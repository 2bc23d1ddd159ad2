"""The KeyStore contract, run on SQLite and PostgreSQL, and SQLite's secure delete."""

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto_shredding import (
    DataKeys,
    KeyStore,
    SubjectErasedError,
    Tombstone,
    UndecryptableError,
    WrappedDataKey,
    create_wrapping_key_file,
    load_wrapping_keys,
)
from crypto_shredding.pkcs11_wrapping_key import Pkcs11WrappingKeys, TokenSettings
from crypto_shredding.sqlite_key_store import SQLiteKeyStore
from crypto_shredding.wrapping_key import WrappingKeys


@pytest.fixture(params=["key-file", "pkcs11"])
def wrapping_keys(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[WrappingKeys]:
    """The contract runs with the wrapping key in a key file and in an HSM token."""
    if request.param == "key-file":
        create_wrapping_key_file(tmp_path / "wrapping_key.json")
        yield load_wrapping_keys(tmp_path / "wrapping_key.json")
        return
    hsm = request.getfixturevalue("softhsm")
    token = Pkcs11WrappingKeys(
        TokenSettings(hsm.module, hsm.token_label, hsm.pin, hsm.key_label()),
        allow_none=True,
    )
    token.create_version()
    yield token
    token.close()


def new_data_key(
    wrapping_keys: WrappingKeys, subject_id: uuid.UUID | None = None
) -> WrappedDataKey:
    wrapping_key = wrapping_keys.current
    return WrappedDataKey(
        subject_id=subject_id or uuid.uuid4(),
        data_key_id=uuid.uuid4(),
        wrapped=wrapping_key.wrap(os.urandom(32)),
        wrapping_key_version=wrapping_key.version,
        created_at=datetime.now(UTC),
    )


class TestKeyStoreContract:
    """What every KeyStore promises; `key_store` runs on SQLite and PostgreSQL,
    each with the wrapping key in a key file and in a PKCS#11 token (SoftHSM2)."""

    def test_data_key_round_trips_through_the_wrapping_key(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        subject_id = uuid.uuid4()
        writer = DataKeys(key_store, wrapping_keys)
        data_key = writer.for_writing(subject_id)

        stored = key_store.find(subject_id)

        assert isinstance(stored, WrappedDataKey)
        assert data_key not in stored.wrapped
        assert wrapping_keys.current.unwrap(stored.wrapped) == data_key

    def test_tampered_wrapped_key_cannot_be_unwrapped(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        wrapped = bytearray(wrapping_keys.current.wrap(os.urandom(32)))
        wrapped[-1] ^= 0x01

        with pytest.raises(UndecryptableError):
            wrapping_keys.current.unwrap(bytes(wrapped))

    def test_added_data_key_is_found(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        data_key = new_data_key(wrapping_keys)

        stored = key_store.add(data_key)

        assert stored == data_key
        assert key_store.find(data_key.subject_id) == data_key

    def test_subject_without_key_is_not_found(self, key_store: KeyStore) -> None:
        assert key_store.find(uuid.uuid4()) is None

    def test_second_add_returns_the_key_that_was_stored_first(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        first = new_data_key(wrapping_keys)
        key_store.add(first)

        second = key_store.add(new_data_key(wrapping_keys, first.subject_id))

        assert second == first
        assert key_store.find(first.subject_id) == first

    def test_racing_adds_all_return_the_winner(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        subject_id = uuid.uuid4()
        candidates = [new_data_key(wrapping_keys, subject_id) for _ in range(4)]
        start = threading.Barrier(len(candidates))
        results: list[object] = [None] * len(candidates)

        def add(index: int) -> None:
            start.wait()
            results[index] = key_store.add(candidates[index])

        threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        winner = key_store.find(subject_id)
        assert winner in candidates
        assert results == [winner] * len(candidates)

    def test_find_many_answers_what_find_answers_for_each_subject(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        live = key_store.add(new_data_key(wrapping_keys))
        shredded = uuid.uuid4()
        tombstone = key_store.shred(shredded, "erased", datetime.now(UTC))
        unknown = uuid.uuid4()

        found = key_store.find_many([live.subject_id, shredded, unknown])

        assert found == {live.subject_id: live, shredded: tombstone}

    def test_add_many_stores_new_keys_and_returns_those_already_stored(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        first = key_store.add(new_data_key(wrapping_keys))
        shredded = uuid.uuid4()
        tombstone = key_store.shred(shredded, "erased", datetime.now(UTC))
        fresh = [new_data_key(wrapping_keys) for _ in range(3)]
        late = [
            new_data_key(wrapping_keys, first.subject_id),
            new_data_key(wrapping_keys, shredded),
        ]

        stored = key_store.add_many([fresh[0], *late, *fresh[1:]])

        assert stored == [fresh[0], first, tombstone, *fresh[1:]]
        assert [key_store.find(key.subject_id) for key in fresh] == fresh
        assert key_store.find(shredded) == tombstone

    def test_prepared_keys_are_the_stored_ones_and_erased_subjects_stay_refused(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        existing, erased = uuid.uuid4(), uuid.uuid4()
        elsewhere = DataKeys(key_store, wrapping_keys)
        existing_key = elsewhere.for_writing(existing)
        elsewhere.for_writing(erased)
        elsewhere.shred(erased, "erased")
        new = [uuid.uuid4() for _ in range(3)]
        writer = DataKeys(key_store, wrapping_keys)

        writer.prepare_for_writing([existing, erased, *new, new[0]])

        assert writer.for_writing(existing) == existing_key
        for subject_id in new:
            stored = key_store.find(subject_id)
            assert isinstance(stored, WrappedDataKey)
            assert writer.for_writing(subject_id) == wrapping_keys.version(
                stored.wrapping_key_version
            ).unwrap(stored.wrapped)
        with pytest.raises(SubjectErasedError):
            writer.for_writing(erased)

    def test_shred_replaces_the_key_by_a_tombstone(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        data_key = key_store.add(new_data_key(wrapping_keys))
        at = datetime.now(UTC)

        tombstone = key_store.shred(data_key.subject_id, "DSR-ERASE request 7", at)

        assert isinstance(tombstone, Tombstone)
        assert tombstone.data_key_id == data_key.data_key_id
        assert tombstone.reason == "DSR-ERASE request 7"
        assert tombstone.shredded_at == at
        assert key_store.find(data_key.subject_id) == tombstone

    def test_shred_is_idempotent(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        data_key = key_store.add(new_data_key(wrapping_keys))
        first = key_store.shred(data_key.subject_id, "first", datetime.now(UTC))

        again = key_store.shred(data_key.subject_id, "again", datetime.now(UTC))

        assert again == first
        assert key_store.find(data_key.subject_id) == first

    def test_shred_of_a_subject_without_key_leaves_a_tombstone(
        self, key_store: KeyStore
    ) -> None:
        subject_id = uuid.uuid4()

        tombstone = key_store.shred(subject_id, "never keyed", datetime.now(UTC))

        assert tombstone.subject_id == subject_id
        assert key_store.find(subject_id) == tombstone

    def test_tombstoned_subject_never_gets_a_new_key(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        subject_id = uuid.uuid4()
        tombstone = key_store.shred(subject_id, "erased", datetime.now(UTC))

        stored = key_store.add(new_data_key(wrapping_keys, subject_id))

        assert stored == tombstone
        assert key_store.find(subject_id) == tombstone

    def test_data_keys_refuse_to_write_for_an_erased_subject(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        data_keys = DataKeys(key_store, wrapping_keys)
        subject_id = uuid.uuid4()
        data_keys.for_writing(subject_id)
        data_keys.shred(subject_id, "erased")

        with pytest.raises(SubjectErasedError, match="register the person anew"):
            data_keys.for_writing(subject_id)

        assert data_keys.for_reading(subject_id) is None

    def test_data_keys_hand_every_instance_the_same_key(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        subject_id = uuid.uuid4()
        writer = DataKeys(key_store, wrapping_keys)
        reader = DataKeys(key_store, wrapping_keys)

        data_key = writer.for_writing(subject_id)

        assert len(data_key) == 32
        assert reader.for_reading(subject_id) == data_key
        assert reader.for_writing(subject_id) == data_key

    def test_each_new_shred_raises_the_shred_version(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        data_key = key_store.add(new_data_key(wrapping_keys))
        before = key_store.shred_version()

        key_store.shred(data_key.subject_id, "first", datetime.now(UTC))
        once = key_store.shred_version()
        key_store.shred(data_key.subject_id, "again", datetime.now(UTC))

        assert once > before
        assert key_store.shred_version() == once

    def test_live_keys_are_counted_per_wrapping_key_version(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        added = [key_store.add(new_data_key(wrapping_keys)) for _ in range(3)]
        key_store.shred(added[0].subject_id, "erased", datetime.now(UTC))

        counts = key_store.wrapping_key_versions()

        assert counts == {wrapping_keys.current.version: 2}

    def test_wrapped_by_lists_live_keys_of_one_version(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        added = [key_store.add(new_data_key(wrapping_keys)) for _ in range(3)]
        key_store.shred(added[0].subject_id, "erased", datetime.now(UTC))
        version = wrapping_keys.current.version

        listed = key_store.wrapped_by(version, limit=10)

        assert sorted(k.subject_id.hex for k in listed) == sorted(
            k.subject_id.hex for k in added[1:]
        )
        assert key_store.wrapped_by(version + 1, limit=10) == []
        assert len(key_store.wrapped_by(version, limit=1)) == 1

    def test_rewrap_replaces_the_wrapped_key_and_its_version(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        old = key_store.add(new_data_key(wrapping_keys))
        assert isinstance(old, WrappedDataKey)

        replaced = key_store.rewrap(old, b"\x01" * 40, 2)

        stored = key_store.find(old.subject_id)
        assert replaced
        assert isinstance(stored, WrappedDataKey)
        assert (stored.wrapped, stored.wrapping_key_version) == (b"\x01" * 40, 2)
        assert stored.data_key_id == old.data_key_id

    def test_rewrap_of_a_shredded_key_changes_nothing(
        self, key_store: KeyStore, wrapping_keys: WrappingKeys
    ) -> None:
        old = key_store.add(new_data_key(wrapping_keys))
        assert isinstance(old, WrappedDataKey)
        tombstone = key_store.shred(old.subject_id, "erased", datetime.now(UTC))

        replaced = key_store.rewrap(old, b"\x01" * 40, 2)

        assert not replaced
        assert key_store.find(old.subject_id) == tombstone


class TestSQLiteKeyStoreShredding:
    """Shredded keys must not linger in the SQLite file's free pages."""

    def test_key_store_runs_with_secure_delete(
        self, sqlite_key_store: SQLiteKeyStore
    ) -> None:
        connection = sqlite_key_store._connection

        (secure_delete,) = connection.execute("PRAGMA secure_delete").fetchone()

        assert secure_delete == 1

    @pytest.mark.requirement("DSR-ERASE")
    def test_shredded_wrapped_key_bytes_are_gone_from_the_file(
        self, tmp_path: Path, wrapping_keys: WrappingKeys
    ) -> None:
        # Among other keys, a shrunken row leaves its old bytes in free page space
        # unless secure_delete overwrites them; a lone row would not show it.
        path = tmp_path / "shred.sqlite3"
        store = SQLiteKeyStore(path)
        kept = [store.add(new_data_key(wrapping_keys)) for _ in range(19)]
        shredded = store.add(new_data_key(wrapping_keys))
        assert isinstance(shredded, WrappedDataKey)
        assert shredded.wrapped in path.read_bytes()

        store.shred(shredded.subject_id, "DSR-ERASE request 7", datetime.now(UTC))
        store.close()

        content = path.read_bytes()
        assert shredded.wrapped not in content
        assert all(k.wrapped in content for k in kept if isinstance(k, WrappedDataKey))
