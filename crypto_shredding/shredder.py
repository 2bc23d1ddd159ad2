"""The package's face for an application: the mapper that seals, and shredding."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Transcoder

from crypto_shredding.data_keys import DataKeys
from crypto_shredding.key_store import Tombstone
from crypto_shredding.mapper import PersonalDataMapper


class CryptoShredder:
    """Gives an application its sealing mapper and shreds data subjects' keys."""

    def __init__(self, data_keys: DataKeys) -> None:
        self.data_keys = data_keys

    def mapper(self, transcoder: Transcoder) -> PersonalDataMapper:
        return PersonalDataMapper(transcoder, self.data_keys)

    def shred(self, subject_id: UUID, reason: str) -> Tombstone:
        return self.data_keys.shred(subject_id, reason)
